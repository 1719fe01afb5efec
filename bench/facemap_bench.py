"""Face-map benchmark: recognising each track once against recognising every face on every frame.

Two people walk across each other (the test suite's crossing clip, tests/support/people.py) with a
face map A -> X, B -> Y, through a tracked session as a stream or a video runs it. Passes:

- ours: recognition once per track acquisition (the tracker's `track_id` keys the memo);
- per-frame: the same, but every face is recognised on every frame (the baseline);
- no map: the plain single-identity swap of both faces, for the cost of a frame without mapping.

Printed per pass: ms per frame for the `identify` stage (mean: it runs on few frames) and the
whole swap (median),
recognizer calls, frames where a person got the wrong identity, and tracked faces left
unswapped (a person flashing back to their own face because one frame did not match). The passes take turns
`--repeat` times so they share whatever else the machine is doing.

    python -m bench.facemap_bench [--frames 60] [--repeat 2]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import replace
from statistics import fmean, median
from collections.abc import Callable

from tests.support.people import Crossing, head, reference

from plasticvision import FaceSwapper, Settings
from plasticvision.pipeline.session import SwapSession
from plasticvision.pipeline.tracking import FaceTracker
from plasticvision.types import Face, Frame

SETTINGS = Settings(mouth_mask=False)
EXPECTED = {"X": "A", "Y": "B"}


def mapped_session(swapper: FaceSwapper) -> SwapSession:
    session = swapper.new_session()
    session.face_map.add_identity("A", [head("A")])
    session.face_map.add_identity("B", [head("B")])
    session.face_map.map_reference(reference("X"), "A")
    session.face_map.map_reference(reference("Y"), "B")
    return session


def untracked(locate: Callable[[Frame], list[Face]]) -> Callable[[Frame], list[Face]]:
    """The tracker's faces without their track ids: every face is recognised again."""
    return lambda frame: [replace(face, track_id=None) for face in locate(frame)]


def run_pass(name: str, swapper: FaceSwapper, clip: Crossing, frames: list[Frame]) -> dict[str, float]:
    if name == "no map":
        session = swapper.new_session()
        session.set_sources([head("A")])
        settings = SETTINGS.updated({"swap_all": True})
    else:
        session, settings = mapped_session(swapper), SETTINGS
    tracker = FaceTracker(swapper.engine, fps=15)
    locate = untracked(tracker.locate) if name == "per-frame" else tracker.locate
    before = session.face_map.recognitions
    identify, total, wrong, unswapped = [], [], 0, 0
    for index, frame in enumerate(frames):
        report = session.swap(frame, settings, locate=locate)
        identify.append(report.timings_ms.get("identify", 0.0))
        total.append(sum(report.timings_ms.values()))
        unswapped += report.faces_found - report.faces_swapped  # a person flashing back to their own face
        wrong += any(
            identity is not None and identity != EXPECTED[clip.who(index, face)] for face, identity in report.swapped
        )
    return {
        "identify_ms": fmean(identify),  # the mean: recognition happens on few frames, its cost is what they add up to
        "frame_ms": median(total),
        "recognitions": session.face_map.recognitions - before,
        "wrong_frames": wrong,
        "unswapped": unswapped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    swapper = FaceSwapper("dlib")
    clip = Crossing(frames=args.frames)
    frames = [clip.frame(i) for i in range(clip.frames)]
    results: dict[str, list[dict[str, float]]] = defaultdict(list)
    for _ in range(args.repeat):
        for name in ("ours", "per-frame", "no map"):
            results[name].append(run_pass(name, swapper, clip, frames))
    summary = {name: {key: median(r[key] for r in runs) for key in runs[0]} for name, runs in results.items()}
    print(f"{args.frames} frames, 2 people crossing once, dlib engine; medians of {args.repeat} runs")
    for name, row in summary.items():
        print(
            f"  {name:9s} identify {row['identify_ms']:7.2f} ms/frame (mean)   swap {row['frame_ms']:6.1f} ms/frame   "
            f"recognitions {row['recognitions']:4.0f}   frames with a wrong identity {row['wrong_frames']:.0f}   "
            f"faces left unswapped {row['unswapped']:.0f}"
        )
    ours, baseline = summary["ours"], summary["per-frame"]
    print(
        f"identify stage: {baseline['identify_ms'] / max(ours['identify_ms'], 1e-3):.1f}x cheaper than per-frame "
        f"recognition; {baseline['recognitions'] / max(ours['recognitions'], 1):.0f}x fewer recognizer calls; "
        f"a frame without recognition costs {ours['frame_ms'] - summary['no map']['frame_ms']:+.1f} ms "
        "more than the plain swap (median)"
    )


if __name__ == "__main__":
    main()
