"""Frame benchmark: our still-image path, our tracked live path (with and without the occlusion mask)
and the textbook swap, in one run.

Every frame goes JPEG bytes -> decode -> swap -> JPEG bytes, as in the live stream. The three
paths take turns frame by frame, so they share whatever else the machine is doing, and the
ratios compare like with like. Prints per-stage median and p95 ms, the ratios, the identity
distance of each path's output to the source (dlib recognizer, lower is better, < 0.6 =
same person), and the jitter and lag of the pasted face on clips with known motion.

    python -m bench.frame_bench [--frames 150] [--no-mouth-mask] [--save DIR]   (or: plasticvision bench)
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from collections.abc import Callable

import cv2
import numpy as np


from bench.clip import REFERENCE_UPSCALE, Clip, fast_clip, load, smooth_clip
from bench.textbook import TextbookSwapper

from plasticvision.engines.base import identity_distance
from plasticvision.engines.dlib.engine import DlibEngine
from plasticvision.media.images import encode_jpeg
from plasticvision.pipeline.session import SwapSession
from plasticvision.pipeline.stream import LiveStream
from plasticvision.settings import Settings
from plasticvision.types import Face, Frame

INPUT_QUALITY = 70  # what the browser app sends
IDENTITY_EVERY = 3  # frames between identity checks (the recognizer is slow, and not part of a path)


class SwapPath:
    """One way of swapping a frame, with its per-frame stage timings and a few outputs to check."""

    def __init__(self, name: str, swap: SwapFn) -> None:
        self.name = name
        self.swap = swap
        self.timings: list[dict[str, float]] = []
        self.outputs: dict[int, Frame] = {}

    def run(self, index: int, jpeg: bytes, keep: bool) -> None:
        cpu = time.thread_time()
        start = time.perf_counter()
        frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        decoded = time.perf_counter()
        out, stages = self.swap(frame)
        swapped = time.perf_counter()
        encode_jpeg(out)
        done = time.perf_counter()
        ms = {"decode": (decoded - start) * 1e3, **stages, "encode": (done - swapped) * 1e3}
        ms["total"] = (done - start) * 1e3
        ms["cpu"] = (time.thread_time() - cpu) * 1e3  # this thread's CPU time: what other load cannot inflate
        self.timings.append(ms)
        if keep:
            self.outputs[index] = out


class Recorder:
    """Wraps a face locator and keeps the largest face's landmarks of every frame."""

    def __init__(self, locate: Callable[[Frame], list[Face]]) -> None:
        self.locate = locate
        self.landmarks: list[np.ndarray | None] = []

    def __call__(self, frame: Frame) -> list[Face]:
        faces = self.locate(frame)
        largest = max(faces, key=lambda f: f.area) if faces else None
        self.landmarks.append(None if largest is None else largest.landmarks_68)
        return faces


SwapFn = Callable[[Frame], tuple[Frame, dict[str, float]]]


def ours(session: SwapSession, locate: Callable[[Frame], list[Face]], settings: Settings) -> SwapFn:
    def swap(frame: Frame) -> tuple[Frame, dict[str, float]]:
        report = session.swap(frame, settings, locate=locate)
        return report.frame, dict(report.timings_ms)

    return swap


def live(stream: LiveStream) -> SwapFn:
    def swap(frame: Frame) -> tuple[Frame, dict[str, float]]:
        report = stream.swap(frame)
        return report.frame, dict(report.timings_ms)

    return swap


def textbook(swapper: TextbookSwapper) -> SwapFn:
    def swap(frame: Frame) -> tuple[Frame, dict[str, float]]:
        return swapper(frame), dict(swapper.timings_ms)

    return swap


def stats(values: list[float]) -> tuple[float, float]:
    return float(np.median(values)), float(np.percentile(values, 95))


def stage_table(paths: list[SwapPath]) -> None:
    names = [n for n in dict.fromkeys(n for p in paths for t in p.timings for n in t) if n not in ("total", "cpu")]
    names += ["total", "cpu"]
    print(f"{'stage (ms)':<12}" + "".join(f"{p.name + ' med':>16}{'p95':>8}" for p in paths))
    for name in names:
        row = f"{name:<12}"
        for path in paths:
            values = [t.get(name, 0.0) for t in path.timings]
            med, p95 = stats(values)
            row += f"{med:>16.2f}{p95:>8.2f}"
        print(row)
    print("(detect: full detection for still and textbook, the tracker's locate for tracked; cpu: thread CPU time)")


def identity(engine: DlibEngine, outputs: dict[int, Frame], source_embedding: np.ndarray) -> float:
    distances = []
    for frame in outputs.values():
        faces = engine.detect(frame)
        if faces:
            face = max(faces, key=lambda f: f.area)
            distances.append(identity_distance(engine.embed(frame, face), source_embedding))
    return float(np.median(distances)) if distances else float("nan")


def jitter_px(landmarks: np.ndarray, truth: np.ndarray) -> float:
    """RMS acceleration of the landmarks' error (px/frame^2): the shake that the true motion does not explain."""
    return float(np.sqrt(np.mean(np.diff(landmarks - truth, n=2, axis=0) ** 2)))


def lag_frames(landmarks: np.ndarray, truth: np.ndarray, speed_px: float) -> float:
    """How far behind the true motion the landmarks are, in frames of motion (x only: the pan is horizontal)."""
    return float(np.mean(truth[:, :, 0] - landmarks[:, :, 0]) / speed_px)


def reference_landmarks(engine: DlibEngine, photo: np.ndarray) -> np.ndarray:
    big = cv2.resize(photo, None, fx=REFERENCE_UPSCALE, fy=REFERENCE_UPSCALE, interpolation=cv2.INTER_CUBIC)
    face = max(engine.detect(big), key=lambda f: f.area)
    return face.landmarks_68 / REFERENCE_UPSCALE


def run_clip(clip: Clip, engine: DlibEngine, source: np.ndarray, settings: Settings, with_textbook: bool):
    session = SwapSession(engine)
    session.set_sources([source])
    still = Recorder(engine.detect)
    # The tracked path is the live one: a LiveStream (its tracker, and its occlusion masks on the tracker's cadence).
    stream = session.stream(settings, fps=30.0)
    tracked = stream.tracker.locate = Recorder(stream.tracker.locate)  # type: ignore[method-assign]
    paths = [SwapPath("still", ours(session, still, settings)), SwapPath("tracked", live(stream))]
    if with_textbook:  # the full comparison: the live path without its occlusion mask too, and the textbook swap
        # `face_masks: [box]` on dlib is the feathered face mask alone (dlib makes no box): occlusion off
        unmasked = settings.model_copy(update={"face_masks": ("box",)})
        paths.append(SwapPath("no-occlusion", live(session.stream(unmasked, fps=30.0))))
        paths.append(SwapPath("textbook", textbook(TextbookSwapper(source))))
    jpegs = [encode_jpeg(frame, INPUT_QUALITY) for frame in clip.frames]
    for index, jpeg in enumerate(jpegs):
        order = paths[index % len(paths) :] + paths[: index % len(paths)]  # take turns at going first
        for path in order:
            path.run(index, jpeg, keep=index % IDENTITY_EVERY == IDENTITY_EVERY // 2)
    return paths, still, tracked, session.sources[0].embedding


def as_track(recorder: Recorder) -> np.ndarray:
    if any(points is None for points in recorder.landmarks):
        raise RuntimeError("a frame lost the face; jitter needs a face in every frame")
    return np.stack(recorder.landmarks)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150, help="frames of the smooth clip (30 fps)")
    parser.add_argument("--save", type=Path, help="folder to write a few output frames of each path into, to look at")
    parser.add_argument("--mouth-mask", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)

    cv2.setNumThreads(1)  # a server runs one frame per core; threads inside a frame only add noise
    engine = DlibEngine()
    photo, source = load("astronaut.png"), load("Tom_Hanks_54745.png")
    settings = Settings(mouth_mask=args.mouth_mask)
    reference = reference_landmarks(engine, photo)
    smooth = smooth_clip(photo, args.frames)
    first = max(engine.detect(smooth.frames[0]), key=lambda f: f.area)
    print(f"clip: {len(smooth.frames)} frames 640x480, JPEG q{INPUT_QUALITY} in and q80 out, the astronaut "
          f"swaying and zooming (face box ~{first.width:.0f} px at the start); source Tom_Hanks; "
          f"mouth_mask={settings.mouth_mask}; cv2 threads 1; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    paths, still, tracked, source_embedding = run_clip(smooth, engine, source, settings, with_textbook=True)
    stage_table(paths)
    totals = {p.name: stats([t["total"] for t in p.timings]) for p in paths}
    cpus = {p.name: stats([t["cpu"] for t in p.timings])[0] for p in paths}
    print()
    for path in paths:
        med, p95 = totals[path.name]
        dist = identity(engine, path.outputs, source_embedding)
        print(f"{path.name:<9} total median {med:6.2f} ms  p95 {p95:6.2f} ms  textbook/this {totals['textbook'][0] / med:5.2f}x"
              f"  | cpu median {cpus[path.name]:6.2f} ms  textbook/this {cpus['textbook'] / cpus[path.name]:5.2f}x"
              f"  | identity distance to source {dist:.3f}")
    on, off = totals["tracked"][0] / totals["no-occlusion"][0], cpus["tracked"] / cpus["no-occlusion"]
    print(f"tracked with its occlusion mask / without: total {on:.3f}x, cpu {off:.3f}x")

    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for path in paths:
            for index, frame in path.outputs.items():
                cv2.imwrite(str(args.save / f"{path.name}_{index:03d}.png"), frame)

    truth = smooth.truth(reference)
    still_jitter, tracked_jitter = jitter_px(as_track(still), truth), jitter_px(as_track(tracked), truth)
    fast = fast_clip(photo)
    _, fast_still, fast_tracked, _ = run_clip(fast, engine, source, settings, with_textbook=False)
    fast_truth = fast.truth(reference)[5:]
    print()
    print(f"jitter (RMS landmark acceleration, px/frame^2) on the smooth clip: per-frame detection "
          f"{still_jitter:.3f}, tracked {tracked_jitter:.3f} ({100 * (1 - tracked_jitter / still_jitter):.0f}% lower)")
    print(f"lag on a 12 px/frame pan (frames): per-frame detection "
          f"{lag_frames(as_track(fast_still)[5:], fast_truth, 12.0):+.2f}, "
          f"tracked {lag_frames(as_track(fast_tracked)[5:], fast_truth, 12.0):+.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
