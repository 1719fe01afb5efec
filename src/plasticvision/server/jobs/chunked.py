"""Video jobs split into chunks that run in parallel, then joined: on the local device pool or on Ray.

`ChunkedVideoSwap` has `swap_video`'s signature, so the job runner does not care which it
calls: it plans keyframe-aligned chunks (`media.video_chunks`), hands them to an executor
(`PoolChunks` here, one chunk per device at a time; `ray_runner.RayChunks` on a cluster),
counts progress over all chunks, and joins the chunk files without re-encoding
(`media.video_join`). Cancellation stops every chunk between two frames; a chunk whose
device failed is run again elsewhere, and a job never finishes with a chunk missing.
A video too short to split runs as a single pass.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

from plasticvision.config import ServerConfig
from plasticvision.engines.pool import DeviceFailed, EnginePool, Replica
from plasticvision.errors import NoSourceFaces
from plasticvision.media.video import VideoReader
from plasticvision.media.video_chunks import MIN_CHUNK_FRAMES, Chunk, ChunkJob, ChunkResult, chunk_paths, plan_chunks, run_chunk
from plasticvision.media.video_join import join_chunks
from plasticvision.media.video_process import ProgressCallback, ProgressMeter
from plasticvision.media.video_swap import VideoSwapResult, swap_video
from plasticvision.pipeline.session import SwapSession
from plasticvision.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # per chunk: the first run and two retries on other workers
CHUNKS_PER_WORKER = 2  # a worker that finishes early takes another chunk; a retry has somewhere to go

OnFrames = Callable[[int], None]
ShouldStop = Callable[[], bool]


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


class AttemptProgress:
    """Frames one attempt at a chunk has reported, so that a failed attempt's frames can be taken back."""

    def __init__(self, on_frames: OnFrames) -> None:
        self.on_frames = on_frames
        self.frames = 0

    def __call__(self, count: int) -> None:
        self.frames += count
        self.on_frames(count)

    def take_back(self) -> None:
        self.on_frames(-self.frames)
        self.frames = 0


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
        if not session.faces_loaded:
            raise NoSourceFaces("no source face: give at least one source image")
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
        job = ChunkJob(source, session.sources, settings, float(info.fps))
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
    """Chunks on the local device pool: as many at once as there are devices, each on its own replica.

    Its threads live as long as it does, like Ray's actors: engines keep per-thread state that is
    slow to build (dlib's HOG detector takes about a second per new thread), paid once, not per job.
    """

    def __init__(self, pool: EnginePool) -> None:
        self.pool = pool
        self.workers = len(pool.replicas)
        self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="plasticvision-chunk")

    def run(
        self, job: ChunkJob, chunks: Sequence[Chunk], folder: Path, on_frames: OnFrames, should_stop: ShouldStop
    ) -> list[ChunkResult]:
        failed = threading.Event()  # one chunk's failure stops the others between two frames

        def stop() -> bool:
            return failed.is_set() or should_stop()

        def one(chunk: Chunk, path: Path) -> ChunkResult:
            try:
                return self._attempts(job, chunk, path, on_frames, stop)
            except BaseException:
                failed.set()
                raise

        futures = [self._threads.submit(one, chunk, path) for chunk, path in zip(chunks, chunk_paths(folder, chunks))]
        wait(futures)  # every chunk has stopped before the caller removes the folder
        return [future.result() for future in futures]

    def _attempts(self, job: ChunkJob, chunk: Chunk, path: Path, on_frames: OnFrames, stop: ShouldStop) -> ChunkResult:
        """The chunk on the least-loaded replica; a device failure runs it again on another one."""
        failed_on: Replica | None = None
        for _ in range(MAX_ATTEMPTS - 1):
            progress = AttemptProgress(on_frames)
            with self.pool.attach(exclude=failed_on) as replica:
                try:
                    return run_chunk(job, chunk, replica, path, on_frames=progress, should_stop=stop)
                except DeviceFailed as exc:
                    progress.take_back()
                    log.warning("chunk %d failed on %s (%s); retrying elsewhere", chunk.index, replica.device.label, exc)
                    failed_on = replica
        with self.pool.attach(exclude=failed_on) as replica:
            return run_chunk(job, chunk, replica, path, on_frames=on_frames, should_stop=stop)

    def close(self) -> None:
        """Stop the threads (the engines belong to the app's pool)."""
        self._threads.shutdown(wait=True, cancel_futures=True)


def video_swap_for(config: ServerConfig, pool: EnginePool, engine_name: str) -> VideoSwap:
    """Ray when `ray_address` is set, the local pool when it has several devices, else a single pass."""
    if config.ray_address:
        from plasticvision.server.jobs.ray_runner import RayChunks  # Ray is imported only when asked for

        return ChunkedVideoSwap(RayChunks(config.ray_address, engine_name, config.models_dir), config.video_chunk_s)
    if len(pool.replicas) > 1:
        return ChunkedVideoSwap(PoolChunks(pool), config.video_chunk_s)
    return SinglePass()
