"""Video scaling benchmark: one clip single-pass, chunked over the local device pool, and chunked
over a local Ray instance, in one run.

Prints frames/s and the speed-up against the single pass measured in the same run, the per-chunk
overhead (warm-up frames decoded and tracked but not written, the join), and how far each chunked
output is from the single-pass one in pixels (near the joins and elsewhere). Every mode uses the
dlib engine and the same encoder, so the differences are the chunking's. On a machine with N
cores, `--replicas N` CPU replicas (and N Ray actors) is the fair comparison; a GPU host would use
`--devices 0,1`.

The modes take turns `--repeat` times so that they share whatever else the machine is doing;
medians are reported.

    python -m bench.video_scale [--seconds 10] [--replicas 2] [--devices cpu:2] [--repeat 2] [--no-ray]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

import av
import numpy as np


from bench.clip import load, smooth_clip
from bench.video_bench import FPS, write_clip

from plasticvision import FaceSwapper
from plasticvision.server.jobs.chunked import ChunkedVideoSwap, PoolChunks
from plasticvision.video.chunks import WARMUP_FRAMES
from plasticvision.video.swap import swap_video

KEYFRAME_EVERY = FPS  # one keyframe a second, as cameras and most encoders write
NEAR_JOIN = WARMUP_FRAMES


@dataclass
class Mode:
    """One way through the clip: a `swap_video`-like callable, its timings per turn, its last result."""

    name: str
    swap: Callable
    seconds: list[float] = field(default_factory=list)
    frames: int = 0
    setup_s: float = 0.0
    chunks: tuple = ()
    join_s: float = 0.0
    output: Path | None = None

    @property
    def fps(self) -> float:
        return self.frames / median(self.seconds) if self.seconds else 0.0

    def once(self, session, clip: Path, output: Path) -> None:
        started = time.perf_counter()
        result = self.swap(session, session.settings, clip, output)
        self.seconds.append(time.perf_counter() - started)
        self.frames, self.output = result.progress.frames_done, output
        self.chunks, self.join_s = getattr(result, "chunks", ()), getattr(result, "join_s", 0.0)


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def pixel_difference(mode: Mode, single: list[np.ndarray]) -> str:
    frames = decoded(mode.output)
    if len(frames) != len(single):
        return f"frame count differs: {len(frames)} vs {len(single)}"
    joins = np.cumsum([chunk.frames for chunk in mode.chunks])[:-1]
    near = {f for join in joins for f in range(join, join + NEAR_JOIN)}
    means = [float(np.abs(a.astype(np.int16) - b).mean()) for a, b in zip(frames, single)]
    at = [m for i, m in enumerate(means) if i in near] or [0.0]
    away = [m for i, m in enumerate(means) if i not in near] or [0.0]
    return (
        f"mean |diff| {np.mean(means):.2f} levels (max frame {max(means):.2f}); "
        f"first {NEAR_JOIN} frames after a join {np.mean(at):.2f}, elsewhere {np.mean(away):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length at 30 fps (default 10)")
    parser.add_argument("--replicas", type=int, default=2, help="CPU replicas and Ray actors (default 2)")
    parser.add_argument("--devices", help="device pool for the local mode instead of cpu:REPLICAS, e.g. 0,1")
    parser.add_argument("--chunk-s", type=float, default=1.0, help="shortest chunk in seconds (default 1)")
    parser.add_argument("--repeat", type=int, default=2, help="turns per mode; medians are reported (default 2)")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray mode")
    args = parser.parse_args()

    pooled = FaceSwapper("dlib", devices=args.devices or f"cpu:{args.replicas}")
    session = pooled.new_session()
    session.set_sources([load("Tom_Hanks_54745.png")])
    local = ChunkedVideoSwap(PoolChunks(pooled.pool), args.chunk_s)
    modes = [
        Mode("single pass", swap_video),
        Mode(f"chunked, local pool ({len(pooled.pool.replicas)} replicas)", local),
    ]
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        stack.callback(local.close)
        if not args.no_ray:
            modes.append(start_ray(args, stack))
        folder = Path(tmp)
        frames = smooth_clip(load("astronaut.png"), frames=int(args.seconds * FPS)).frames
        clip = write_clip(folder / "clip.mp4", frames, keyframe_every=KEYFRAME_EVERY)
        warm_clip = write_clip(folder / "warm.mp4", frames[: 2 * FPS], keyframe_every=KEYFRAME_EVERY)
        for index, mode in enumerate(modes):  # warm-up: codecs, models, the workers' per-thread set-up
            mode.swap(session, session.settings, warm_clip, folder / f"warm-{index}.mp4")
        for _ in range(args.repeat):  # the modes take turns, so they share whatever else the machine does
            for index, mode in enumerate(modes):
                mode.once(session, clip, folder / f"out-{index}.mp4")
        report(modes, decoded(modes[0].output), args.repeat)


def report(modes: list[Mode], reference: list[np.ndarray], repeat: int) -> None:
    single = modes[0]
    print(
        f"clip: 640x480, {single.frames} frames at {FPS} fps, a keyframe every {KEYFRAME_EVERY}, AAC sound; "
        f"{repeat} turn(s), medians; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    for mode in modes:
        speedup = mode.fps / single.fps if single.fps else 0.0
        print(f"  {mode.name:38s} {mode.fps:7.1f} frames/s  {speedup:5.2f}x the single pass")
    for mode in modes[1:]:
        warm = sum(chunk.warmup_frames for chunk in mode.chunks)
        per_chunk = " ".join(f"{c.frames}+{c.warmup_frames}w/{c.seconds:.1f}s" for c in mode.chunks)
        print(f"{mode.name}:")
        if mode.setup_s:
            print(f"  start-up (start Ray, start the actors, load their engines): {mode.setup_s:.1f} s, not in frames/s")
        print(f"  {len(mode.chunks)} chunks (frames+warm-up/seconds), last turn: {per_chunk}")
        print(
            f"  warm-up: {warm} frames tracked but not written ({warm / max(mode.frames, 1):.1%} extra decode "
            f"+ tracking); join without re-encoding: {mode.join_s * 1000:.0f} ms"
        )
        print(f"  vs single pass: {pixel_difference(mode, reference)}")


def start_ray(args: argparse.Namespace, stack: ExitStack) -> Mode:
    import ray

    from plasticvision.server.jobs.ray_runner import RayChunks

    started = time.perf_counter()
    ray.init(num_cpus=args.replicas, include_dashboard=False, logging_level="WARNING")
    stack.callback(ray.shutdown)
    executor = RayChunks("auto", "dlib")
    stack.callback(executor.close)
    executor.worker_pids()  # wait until every actor has loaded its engine
    mode = Mode(f"chunked, local Ray ({len(executor.actors)} actors)", ChunkedVideoSwap(executor, args.chunk_s))
    mode.setup_s = time.perf_counter() - started
    return mode

if __name__ == "__main__":
    main()
