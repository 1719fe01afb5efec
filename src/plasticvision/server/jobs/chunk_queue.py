"""A job's chunks handed to its workers one at a time, and run again elsewhere when a worker fails.

The same scheduling serves the local device pool (a worker is a device) and Ray (a worker is an
actor). A chunk whose worker failed (`DeviceFailed`: its engine raised; `WorkerLost`: the
process or node went away) goes back to the front of the queue for a worker that has not
failed it yet (any worker, once all have); idle workers wait while others still run, since a
chunk may come back. After MAX_ATTEMPTS a chunk fails the job, and any other failure (or cancellation)
stops every worker between two frames: a job never finishes with a chunk missing.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait

from plasticvision.engines.pool import DeviceFailed
from plasticvision.video.chunks import Chunk, ChunkResult

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # per chunk: the first run and two retries on other workers

OnFrames = Callable[[int], None]
ShouldStop = Callable[[], bool]


class WorkerLost(Exception):
    """The worker (its process or its node) went away in the middle of a chunk."""


RETRIED = (DeviceFailed, WorkerLost)


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


Attempt = Callable[[int, Chunk, AttemptProgress, ShouldStop], ChunkResult]  # (worker, chunk, progress, stop)
Spawn = Callable[[int, Callable[[], None]], Future]  # runs a worker's loop on a thread


class ChunkQueue:
    def __init__(self, chunks: Sequence[Chunk], workers: int) -> None:
        self.workers = workers
        self.todo = deque(chunks)
        self.tries: Counter[int] = Counter()
        self.failed_on: defaultdict[int, set[int]] = defaultdict(set)
        self.busy: set[int] = set()
        self.results: dict[int, ChunkResult] = {}
        self.failures: list[BaseException] = []
        self.changed = threading.Condition()

    @property
    def stopped(self) -> bool:
        return bool(self.failures)

    def take(self, worker: int) -> Chunk | None:
        """The next chunk for this worker; None when the job is over (done or failed)."""
        with self.changed:
            while not self.failures:
                eligible = [chunk for chunk in self.todo if self._may_take(worker, chunk)]
                if eligible:
                    chunk = eligible[0]
                    self.todo.remove(chunk)
                    self.tries[chunk.index] += 1
                    self.busy.add(worker)
                    return chunk
                if not self.todo and not self.busy:
                    return None
                self.changed.wait()
            return None

    def _may_take(self, worker: int, chunk: Chunk) -> bool:
        """Not a chunk this worker failed, unless every other worker failed it too (then anyone may retry it)."""
        failed = self.failed_on[chunk.index]
        return worker not in failed or len(failed - {worker}) >= self.workers - 1

    def done(self, worker: int, chunk: Chunk, result: ChunkResult) -> None:
        with self.changed:
            self.results[chunk.index] = result
            self.busy.discard(worker)
            self.changed.notify_all()

    def retry(self, worker: int, chunk: Chunk, failure: BaseException) -> bool:
        """Put a failed chunk back for another worker; False (and the job fails) once it has had its tries."""
        with self.changed:
            self.busy.discard(worker)
            self.changed.notify_all()
            if self.tries[chunk.index] >= MAX_ATTEMPTS:
                self.failures.append(failure)
                return False
            self.failed_on[chunk.index].add(worker)
            self.todo.appendleft(chunk)
            return True

    def fail(self, worker: int, failure: BaseException) -> None:
        with self.changed:
            self.failures.append(failure)
            self.busy.discard(worker)
            self.changed.notify_all()


def run_queued(
    chunks: Sequence[Chunk],
    workers: int,
    attempt: Attempt,
    spawn: Spawn,
    *,
    on_frames: OnFrames,
    should_stop: ShouldStop,
    on_retry: Callable[[int, BaseException], None] | None = None,
) -> list[ChunkResult]:
    """Run every chunk on `workers` workers (each loop started with `spawn`); results in chunk order."""
    queue = ChunkQueue(chunks, workers)

    def stop() -> bool:
        return queue.stopped or should_stop()

    def drive(worker: int) -> None:
        while (chunk := queue.take(worker)) is not None:
            progress = AttemptProgress(on_frames)
            try:
                result = attempt(worker, chunk, progress, stop)
            except RETRIED as exc:
                progress.take_back()
                log.warning("chunk %d failed on worker %d (%s); it goes to another worker", chunk.index, worker, exc)
                if queue.retry(worker, chunk, exc) and on_retry is not None:
                    on_retry(worker, exc)
            except BaseException as exc:  # cancelled, or a failure no other worker would fix: stop them all
                queue.fail(worker, exc)
            else:
                queue.done(worker, chunk, result)

    loops = [spawn(worker, lambda worker=worker: drive(worker)) for worker in range(workers)]
    wait(loops)  # every chunk has stopped before the caller removes its files
    for loop in loops:
        loop.result()
    if queue.failures:
        raise queue.failures[0]
    return [queue.results[chunk.index] for chunk in chunks]
