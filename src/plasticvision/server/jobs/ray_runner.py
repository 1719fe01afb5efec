"""Video chunks on a Ray cluster: one long-lived actor per GPU (or CPU slot) holding a loaded engine.

The only module that imports Ray (`chunked.video_swap_for` imports it only when
`PLASTICVISION_RAY_ADDRESS` is set). Actors are started with the first job and kept: loading
an engine costs seconds, a chunk should not. Per job, the target video and the session's
prepared sources go into Ray's object store once (`ray.put`) and every chunk refers to them,
so a node fetches them once and no chunk re-uploads them; each actor keeps its local copy of
the video for the job's other chunks. A chunk is a streaming call: the actor yields frame
counts as it goes (the job's progress) and finally the encoded chunk. A chunk whose actor
died or whose device failed goes back to the queue for the next free actor (`chunk_queue`),
and a lost actor is replaced. The chunk work itself is `video.chunks.run_chunk`, as on the local pool.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import ray
from ray.exceptions import RayError, RayTaskError

from plasticvision.config import model_store
from plasticvision.engines.base import SourceFace
from plasticvision.engines.devices import Device
from plasticvision.engines.pool import Replica
from plasticvision.engines.select import choose_engine
from plasticvision.errors import PlasticVisionError
from plasticvision.pipeline.facemap import FaceMapState
from plasticvision.server.jobs.chunk_queue import AttemptProgress, OnFrames, ShouldStop, WorkerLost, run_queued
from plasticvision.settings import Settings
from plasticvision.video.chunks import Chunk, ChunkJob, ChunkResult, chunk_paths, run_chunk

log = logging.getLogger(__name__)

PROGRESS_S = 0.25  # how often an actor reports frames done
CPUS_PER_WORKER = 1  # on a cluster without GPUs, one actor per CPU


class ClusterUnavailable(PlasticVisionError):
    type = "cluster_unavailable"


@dataclass(frozen=True)
class JobPayload:
    """What every chunk of a job needs, put into the object store once per job."""

    video: bytes
    suffix: str
    sources: tuple[SourceFace, ...]
    settings: Settings
    fps: float
    face_map: FaceMapState | None


class ChunkWorker:
    """A Ray actor: an engine on this actor's GPU (Ray sets CUDA_VISIBLE_DEVICES, so it is device 0)."""

    def __init__(self, engine: str, models_dir: str | None) -> None:
        device = Device("cuda", 0) if ray.get_gpu_ids() else Device("cpu", 0)
        self.replica = Replica(device, choose_engine(engine, model_store(models_dir), device)[0])
        self.folder = Path(tempfile.mkdtemp(prefix="plasticvision-ray-"))
        self.videos: dict[str, Path] = {}
        self.cancelled: set[str] = set()
        self.lock = threading.Lock()
        # chunks run on one long-lived thread: engines keep per-thread state that is slow to build
        self.runner = ThreadPoolExecutor(1, thread_name_prefix="plasticvision-chunk")

    def pid(self) -> int:
        return os.getpid()

    def run(self, key: str, payload: JobPayload, chunk: Chunk) -> Iterator[int | tuple[bytes, ChunkResult]]:
        """Yields frame counts while the chunk runs, then (the chunk's MP4 bytes, its result)."""
        job = ChunkJob(self._video(key, payload), payload.sources, payload.settings, payload.fps, payload.face_map)
        output = self.folder / f"{key}-{chunk.index:04d}.mp4"
        counts: queue.Queue[int] = queue.Queue()
        running = self.runner.submit(
            run_chunk, job, chunk, self.replica, output, on_frames=counts.put, should_stop=lambda: key in self.cancelled
        )
        while not running.done() or not counts.empty():
            wait([running], timeout=PROGRESS_S)
            done = 0
            while not counts.empty():
                done += counts.get()
            if done:
                yield done
        result = running.result()  # raises what the chunk raised, for the job to handle
        try:
            yield output.read_bytes(), result
        finally:
            output.unlink(missing_ok=True)

    def cancel(self, key: str) -> None:
        self.cancelled.add(key)

    def forget(self, key: str) -> None:
        """The job is over: drop its video copy and its cancel mark."""
        with self.lock:
            video = self.videos.pop(key, None)
        if video is not None:
            video.unlink(missing_ok=True)
        self.cancelled.discard(key)

    def shutdown(self) -> None:
        self.runner.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _video(self, key: str, payload: JobPayload) -> Path:
        with self.lock:
            if key not in self.videos:
                path = self.folder / f"{key}{payload.suffix}"
                path.write_bytes(payload.video)
                self.videos[key] = path
            return self.videos[key]


RemoteChunkWorker = ray.remote(max_concurrency=2)(ChunkWorker)  # 2: `cancel` must get in while `run` runs


class RayChunks:
    """Runs a job's chunks on Ray actors; the cluster is joined, and the actors started, at the first job."""

    def __init__(self, address: str, engine: str, models_dir: str | Path | None = None) -> None:
        self.address = address
        self.engine = engine
        self.models_dir = None if models_dir is None else str(models_dir)
        self.actors: list = []
        self.lost_workers = 0
        self._gpus = 0
        self._owns_ray = False
        self._lock = threading.Lock()

    @property
    def workers(self) -> int:
        self._start()
        return len(self.actors)

    def _start(self) -> None:
        with self._lock:
            if self.actors:
                return
            if not ray.is_initialized():
                try:
                    ray.init(address=self.address, logging_level=logging.WARNING)
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    raise ClusterUnavailable(f"cannot reach the Ray cluster at {self.address}: {exc}") from exc
                self._owns_ray = True
            resources = ray.cluster_resources()
            self._gpus = int(resources.get("GPU", 0))
            count = self._gpus or max(int(resources.get("CPU", 1)) // CPUS_PER_WORKER, 1)
            self.actors = [self._new_actor() for _ in range(count)]
            log.info("ray: %d chunk worker(s) on %s (%s)", count, self.address, "one per GPU" if self._gpus else "CPU")

    def _new_actor(self):
        options = {"num_gpus": 1} if self._gpus else {"num_cpus": CPUS_PER_WORKER}
        return RemoteChunkWorker.options(**options).remote(self.engine, self.models_dir)

    def worker_pids(self) -> list[int]:
        """The actors' process ids, once each has loaded its engine (starting them if need be)."""
        self._start()
        return ray.get([actor.pid.remote() for actor in self.actors])

    def run(
        self, job: ChunkJob, chunks: Sequence[Chunk], folder: Path, on_frames: OnFrames, should_stop: ShouldStop
    ) -> list[ChunkResult]:
        self._start()
        key = uuid.uuid4().hex
        payload = ray.put(JobPayload(
            job.source.read_bytes(), job.source.suffix, job.sources, job.settings, job.fps, job.face_map
        ))
        paths = dict(zip((chunk.index for chunk in chunks), chunk_paths(folder, chunks)))

        def attempt(worker: int, chunk: Chunk, progress: AttemptProgress, stop: ShouldStop) -> ChunkResult:
            return self._run_one(worker, key, payload, chunk, paths[chunk.index], progress, stop)

        def replace_lost(worker: int, failure: BaseException) -> None:
            if isinstance(failure, WorkerLost):
                self.lost_workers += 1
                self.actors[worker] = self._new_actor()

        try:
            with ThreadPoolExecutor(len(self.actors), thread_name_prefix="plasticvision-ray") as threads:
                return run_queued(
                    chunks,
                    len(self.actors),
                    attempt,
                    lambda _, loop: threads.submit(loop),
                    on_frames=on_frames,
                    should_stop=should_stop,
                    on_retry=replace_lost,
                )
        finally:
            for actor in self.actors:
                actor.forget.remote(key)

    def _run_one(
        self, worker: int, key: str, payload, chunk: Chunk, path: Path, progress: AttemptProgress, stop: ShouldStop
    ) -> ChunkResult:
        """One streaming call: frame counts, then the chunk; a lost actor becomes WorkerLost."""
        actor = self.actors[worker]
        stream = actor.run.options(num_returns="streaming").remote(key, payload, chunk)
        cancelled = False
        try:
            for ref in stream:
                if stop() and not cancelled:
                    actor.cancel.remote(key)
                    cancelled = True
                item = ray.get(ref)
                if isinstance(item, int):
                    progress(item)
                    continue
                data, result = item
                path.write_bytes(data)
                return result
        except RayTaskError as exc:  # the chunk raised: DeviceFailed is retried elsewhere, the rest fails the job
            raise (exc.cause if isinstance(exc.cause, BaseException) else exc) from None
        except RayError as exc:  # the actor, its process or its node is gone
            raise WorkerLost(f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
        raise WorkerLost("the worker ended the chunk without a result")

    def close(self) -> None:
        """Stop the actors (and leave the cluster, if this process joined it)."""
        with self._lock:
            if not ray.is_initialized():
                return
            for actor in self.actors:
                try:
                    ray.get(actor.shutdown.remote(), timeout=10)
                except RayError:
                    pass  # already gone: its temp folder went with its machine or is cleaned by the OS
                ray.kill(actor)
            self.actors = []
            if self._owns_ray:
                ray.shutdown()
