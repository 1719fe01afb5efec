"""Video benchmark: our whole video path against the textbook per-frame swap, in one run.

Both paths read and write the same 640x480 clip with the same PyAV decoder and H.264
encoder (`process_video`), so the only difference is the per-frame swap: ours (tracked
faces, mesh warp, post-processing) or the textbook one (full dlib detection + 68 landmarks
on every frame, one `warpAffine` per Delaunay triangle, `cv2.seamlessClone`). A pass with
no swap at all measures decode + encode alone. The passes take turns `--repeat` times so
they share whatever else the machine is doing; medians are reported.

    python -m bench.video_bench [--seconds 5] [--repeat 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from fractions import Fraction
from pathlib import Path
from statistics import median
from collections.abc import Callable

import av
import numpy as np


from bench.clip import SIZE, load, smooth_clip
from bench.textbook import TextbookSwapper

from plasticvision.engines.dlib.engine import DlibEngine
from plasticvision.pipeline.session import SwapSession
from plasticvision.pipeline.timing import TimingStats
from plasticvision.settings import Settings
from plasticvision.types import Frame
from plasticvision.video.process import process_video
from plasticvision.video.swap import swap_video

FPS = 30
SAMPLE_RATE = 48_000


def write_clip(path: Path, frames: list[Frame], keyframe_every: int | None = None) -> Path:
    """The bench clip as a user would upload it: H.264 + AAC (a 440 Hz tone) in MP4; optionally a
    keyframe every `keyframe_every` frames (a camera's usual GOP), where chunked jobs can cut."""
    options = {"crf": "18"}
    if keyframe_every:
        options["x264-params"] = f"keyint={keyframe_every}:min-keyint={keyframe_every}:scenecut=0"
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=FPS, options=options)
        video.width, video.height = SIZE
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=SAMPLE_RATE)
        for frame in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        container.mux(video.encode(None))
        samples = int(len(frames) / FPS * SAMPLE_RATE)
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / SAMPLE_RATE)).astype(np.float32)
        for start in range(0, samples, 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = SAMPLE_RATE, start, Fraction(1, SAMPLE_RATE)
            container.mux(audio.encode(chunk))
        container.mux(audio.encode(None))
    return path


class Pass:
    """One way through the clip: its wall-clock frames/s per repeat and its stage timings."""

    def __init__(self, name: str, run: Callable[[Path], int]) -> None:
        self.name = name
        self.run = run
        self.fps: list[float] = []

    def once(self, output: Path) -> None:
        start = time.perf_counter()
        frames = self.run(output)
        self.fps.append(frames / (time.perf_counter() - start))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="clip length at 30 fps (default 5)")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    source = load("Tom_Hanks_54745.png")
    engine = DlibEngine()
    stats = TimingStats(window=100_000)
    session = SwapSession(engine, stats)
    session.set_sources([source])
    textbook = TextbookSwapper(source)
    textbook_ms: dict[str, list[float]] = defaultdict(list)

    def textbook_frame(frame: Frame) -> Frame:
        out = textbook(frame)
        for stage, ms in textbook.timings_ms.items():
            textbook_ms[stage].append(ms)
        return out

    with tempfile.TemporaryDirectory() as folder:
        clip = write_clip(Path(folder) / "clip.mp4", smooth_clip(load("astronaut.png"), frames=int(args.seconds * FPS)).frames)
        passes = [
            Pass("decode+encode only", lambda out: process_video(clip, out, lambda f: f).frames_done),
            Pass("ours (tracked)", lambda out: swap_video(session, Settings(), clip, out).progress.frames_done),
            Pass("textbook", lambda out: process_video(clip, out, textbook_frame).frames_done),
        ]
        process_video(clip, Path(folder) / "warm.mp4", lambda f: f)  # codec and model warm-up
        for _ in range(args.repeat):
            for index, path in enumerate(passes):
                path.once(Path(folder) / f"out{index}.mp4")

    frames = int(args.seconds * FPS)
    print(f"clip: {SIZE[0]}x{SIZE[1]}, {frames} frames at {FPS} fps with AAC audio; {args.repeat} repeat(s), medians")
    for path in passes:
        fps = median(path.fps)
        print(f"  {path.name:20s} {fps:7.1f} frames/s  {1000 / fps:6.1f} ms/frame  ({fps / FPS:.2f}x real time)")
    io, ours, book = (median(p.fps) for p in passes)
    print(f"ratio ours / textbook: {ours / book:.2f}x")
    print(f"decode + encode alone: {1000 / io:.1f} ms/frame, overlapped with the swap on their own threads")
    print("per-stage median ms, ours:     " + "  ".join(f"{k} {v:.2f}" for k, v in stats.medians().items()))
    print("per-stage median ms, textbook: " + "  ".join(f"{k} {median(v):.2f}" for k, v in textbook_ms.items()))


if __name__ == "__main__":
    main()
