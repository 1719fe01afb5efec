"""Video jobs split into chunks that run in parallel, then joined: on the local device pool or on Ray.

`ChunkedVideoSwap` has `swap_video`'s signature, so the job runner does not care which it
calls: it plans keyframe-aligned chunks (`video.chunks`), hands them to an executor
(`PoolChunks` here, one chunk per device at a time; `ray_runner.RayChunks` on a cluster),
counts progress over all chunks, and joins the chunk files without re-encoding
(`video.join`). Which worker runs which chunk, and the retries when one fails, are
`chunk_queue`'s; cancellation stops every chunk between two frames.
A video too short to split runs as a single pass.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

from plasticvision.config import ServerConfig
from plasticvision.engines.pool import EnginePool
from plasticvision.errors import NoSourceFaces
from plasticvision.pipeline.session import SwapSession
from plasticvision.server.jobs.chunk_queue import AttemptProgress, OnFrames, ShouldStop, run_queued
from plasticvision.settings import Settings
from plasticvision.video.chunks import MIN_CHUNK_FRAMES, Chunk, ChunkJob, ChunkResult, chunk_paths, plan_chunks, run_chunk
from plasticvision.video.join import join_chunks
from plasticvision.video.process import ProgressCallback, ProgressMeter
from plasticvision.video.reader import VideoReader
from plasticvision.video.swap import VideoSwapResult, swap_video

CHUNKS_PER_WORKER = 2  # a worker that finishes early takes another chunk; a retry has somewhere to go


class ChunkExecutor(Protocol):
    """Runs every chunk of a job somewhere and returns their results, chunk files written into `folder`."""

    workers: int

    def run(
        self, job: ChunkJob, chunks: Sequence[Chunk], folder: Path, on_frames: OnFrames, should_stop: ShouldStop
    ) -> list[ChunkResult]: ...

    def close(self) -> None: ...


class VideoSwap(Protocol):
    """What the job runner calls for one video: `swap_video`'s signature, plus a `close` at shutdown."""

    def __call__(
        self,
        session: SwapSession,
        settings: Settings,
        source: str | Path,
        output: str | Path,
        *,
        on_progress: ProgressCallback | None = None,
        should_stop: ShouldStop | None = None,
        temp_dir: Path | None = None,
    ) -> VideoSwapResult: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ChunkedSwapResult(VideoSwapResult):
    chunks: tuple[ChunkResult, ...] = ()
    join_s: float = 0.0


class SinglePass:
    """The whole video on one engine, frame after frame: `swap_video` as a `VideoSwap`."""

    __call__ = staticmethod(swap_video)

    def close(self) -> None:
        """Nothing to release."""


class ChunkedVideoSwap:
    def __init__(self, executor: ChunkExecutor, chunk_s: float) -> None:
        self.executor = executor
        self.chunk_s = chunk_s

    def __call__(
        self,
        session: SwapSession,
        settings: Settings,
        source: str | Path,
        output: str | Path,
        *,
        on_progress: ProgressCallback | None = None,
        should_stop: ShouldStop | None = None,
        temp_dir: Path | None = None,
    ) -> VideoSwapResult:
        if not session.can_swap:
            raise NoSourceFaces("no source face: give at least one source image, or set a face map")
        session.check_settings(settings)
        source, output = Path(source), Path(output)
        with VideoReader(source) as reader:
            info, time_base = reader.info, reader.time_base
        min_frames = max(MIN_CHUNK_FRAMES, int(self.chunk_s * float(info.fps)))
        chunks = plan_chunks(source, self.executor.workers * CHUNKS_PER_WORKER, min_frames=min_frames)
        if len(chunks) < 2:
            return swap_video(
                session, settings, source, output, on_progress=on_progress, should_stop=should_stop, temp_dir=temp_dir
            )
        job = ChunkJob(source, session.sources, settings, float(info.fps), session.face_map.state)
        meter, counted = ProgressMeter(info.frames, on_progress), threading.Lock()

        def on_frames(count: int) -> None:  # negative: a failed attempt's frames, taken back
            with counted:
                if count < 0:
                    meter.frames_done += count
                for _ in range(count):
                    meter.tick()

        folder = Path(tempfile.mkdtemp(prefix=".chunks-", dir=temp_dir or output.parent))
        try:
            meter.report("processing")
            results = self.executor.run(job, chunks, folder, on_frames, should_stop or (lambda: False))
            meter.report("finalizing")
            joined = time.perf_counter()
            starts = [Fraction(chunk.start_pts) * time_base for chunk in chunks]
            join_chunks(chunk_paths(folder, chunks), starts, source, output, temp_dir)
            join_s = time.perf_counter() - joined
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        meter.frames_total = meter.frames_done
        swapped = sum(result.frames_with_swap for result in results)
        return ChunkedSwapResult(meter.report("done"), swapped, tuple(sorted(results, key=lambda r: r.index)), join_s)

    def close(self) -> None:
        self.executor.close()


class PoolChunks:
    """Chunks on the local device pool: one worker per device, each taking the next chunk when it is free.

    Each device has a thread of its own that lives as long as this object, like a Ray actor:
    engines keep per-thread state that is slow to build (dlib's HOG detector takes about a
    second per new thread), so it is built once per device, not once per job.
    """

    def __init__(self, pool: EnginePool) -> None:
        self.pool = pool
        self.workers = len(pool.replicas)
        self._threads = [
            ThreadPoolExecutor(1, thread_name_prefix=f"plasticvision-chunk-{r.device.label}") for r in pool.replicas
        ]

    def run(
        self, job: ChunkJob, chunks: Sequence[Chunk], folder: Path, on_frames: OnFrames, should_stop: ShouldStop
    ) -> list[ChunkResult]:
        paths = dict(zip((chunk.index for chunk in chunks), chunk_paths(folder, chunks)))

        def attempt(worker: int, chunk: Chunk, progress: AttemptProgress, stop: ShouldStop) -> ChunkResult:
            replica = self.pool.replicas[worker]
            with replica.attached():  # counts like a stream: new streams prefer the other devices
                return run_chunk(job, chunk, replica, paths[chunk.index], on_frames=progress, should_stop=stop)

        def spawn(worker: int, loop: Callable[[], None]) -> Future:
            return self._threads[worker].submit(loop)

        return run_queued(chunks, self.workers, attempt, spawn, on_frames=on_frames, should_stop=should_stop)

    def close(self) -> None:
        """Stop the threads (the engines belong to the app's pool)."""
        for threads in self._threads:
            threads.shutdown(wait=True, cancel_futures=True)


def video_swap_for(config: ServerConfig, pool: EnginePool, engine_name: str) -> VideoSwap:
    """Ray when `ray_address` is set, the local pool when it has several devices, else a single pass."""
    if config.ray_address:
        from plasticvision.server.jobs.ray_runner import RayChunks  # Ray is imported only when asked for

        return ChunkedVideoSwap(RayChunks(config.ray_address, engine_name, config.models_dir), config.video_chunk_s)
    if len(pool.replicas) > 1:
        return ChunkedVideoSwap(PoolChunks(pool), config.video_chunk_s)
    return SinglePass()
