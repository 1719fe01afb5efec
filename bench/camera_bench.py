"""Camera benchmark: `plasticvision camera`'s loop fed in real time, tracked stream against per-frame swapping.

A 640x480 clip of a moving face plays at 30 fps as a webcam would (a paced file source: a
frame the swap is not ready for is skipped, as a camera's are), through the camera loop into
the `none` sink. Passes: the tracked stream (`LiveStream`, what `camera --local` uses), the
baseline of swapping each frame as a new photo (`session.swap`, full detection each time),
and, with `--server URL`, the stream client against a running server. Each reports frames
out per second, capture-to-output latency and dropped frames; the passes take turns.

    python -m bench.camera_bench [--seconds 10] [--repeat 2] [--server http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path
from statistics import median


from bench.clip import SIZE, load, smooth_clip
from bench.video_bench import FPS, write_clip

from plasticvision.camera.loop import StatusLine, StreamTotals, run_stream
from plasticvision.camera.sinks import NullSink
from plasticvision.camera.sources import FileSource
from plasticvision.camera.swappers import LocalSwapper, RemoteSwapper
from plasticvision.engines.dlib.engine import DlibEngine
from plasticvision.pipeline.session import SwapSession
from plasticvision.types import Frame, SwapReport


class PerFrame:
    """The baseline: each frame swapped as a new photo (what `FaceSwapper.swap` does)."""

    def __init__(self, session: SwapSession) -> None:
        self.session = session

    def swap(self, frame: Frame) -> SwapReport:
        return self.session.swap(frame)


def run_pass(clip: Path, make_swapper) -> StreamTotals:
    source = FileSource(clip, None, paced=True)
    swapper = make_swapper()
    try:
        return run_stream(source, swapper, NullSink(), StatusLine(io.StringIO()))
    finally:
        swapper.close()
        source.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length at 30 fps (default 10)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--server", help="also stream to this running server (e.g. http://127.0.0.1:8000)")
    args = parser.parse_args()

    source_face = load("Tom_Hanks_54745.png")
    engine = DlibEngine()
    tracked, per_frame = SwapSession(engine), SwapSession(engine)  # each with its own stage timings
    for session in (tracked, per_frame):
        session.set_sources([source_face])
    passes = {
        "tracked (LiveStream)": lambda: LocalSwapper(tracked.stream()),
        "per-frame (swap)": lambda: LocalSwapper(PerFrame(per_frame)),
    }
    if args.server:
        from plasticvision.client import StreamClient

        client = StreamClient(args.server, session_id="camera-bench")
        client.upload_sources([source_face])
        passes["server (stream client)"] = lambda: RemoteSwapper(client.open_stream())
    results: dict[str, list[StreamTotals]] = {name: [] for name in passes}
    with tempfile.TemporaryDirectory() as folder:
        pictures = smooth_clip(load("astronaut.png"), frames=int(args.seconds * FPS)).frames
        clip = write_clip(Path(folder) / "clip.mp4", pictures)
        run_pass(clip, passes["tracked (LiveStream)"])  # warm-up
        for _ in range(args.repeat):
            for name, make in passes.items():
                results[name].append(run_pass(clip, make))

    frames = int(args.seconds * FPS)
    print(f"clip: {SIZE[0]}x{SIZE[1]}, {frames} frames played at {FPS} fps; {args.repeat} repeat(s), medians")
    fps = {}
    for name, runs in results.items():
        fps[name] = median(r.fps for r in runs)
        dropped = median(r.dropped / r.frames_in for r in runs)
        p50, p95 = median(r.latency_p50_ms for r in runs), median(r.latency_p95_ms for r in runs)
        print(
            f"  {name:24s} {fps[name]:5.1f} fps out  latency p50 {p50:5.1f} ms  p95 {p95:5.1f} ms  "
            f"dropped {100 * dropped:4.1f} %"
        )
    print(f"ratio tracked / per-frame: {fps['tracked (LiveStream)'] / fps['per-frame (swap)']:.2f}x frames out")
    for name, session in (("tracked", tracked), ("per-frame", per_frame)):
        print(f"per-stage median ms, {name}: " + "  ".join(f"{k} {v:.2f}" for k, v in session.stats.medians().items()))


if __name__ == "__main__":
    main()
