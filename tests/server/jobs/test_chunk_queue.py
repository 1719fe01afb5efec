"""The chunk queue on its own (no video): who gets a failed chunk, when a job gives up, what progress says."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from plasticvision.engines.pool import DeviceFailed
from plasticvision.server.jobs.chunk_queue import MAX_ATTEMPTS, WorkerLost, run_queued
from plasticvision.video.chunks import Chunk, ChunkResult

CHUNKS = [Chunk(i, i * 10, i * 10 + 10, i * 10, i * 10, i * 10 + 10, i * 10, None) for i in range(4)]


def run(attempt, workers: int = 2):
    """The queue over `workers` threads; returns (results, net frames reported)."""
    frames, lock = [0], threading.Lock()

    def on_frames(count: int) -> None:
        with lock:
            frames[0] += count

    with ThreadPoolExecutor(workers) as threads:
        results = run_queued(
            CHUNKS, workers, attempt, lambda _, loop: threads.submit(loop), on_frames=on_frames, should_stop=lambda: False
        )
    return results, frames[0]


def test_a_chunk_that_failed_on_a_worker_goes_to_another_one():
    tried: Counter[tuple[int, int]] = Counter()

    def attempt(worker, chunk, progress, stop):
        tried[worker, chunk.index] += 1
        progress(5)  # half the chunk, then worker 0's device dies
        if worker == 0:
            raise DeviceFailed("the engine on cuda:0 failed")
        time.sleep(0.01)
        progress(5)
        return ChunkResult(chunk.index, 10, 10, 0, 0.01)

    results, frames = run(attempt)
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert all(count == 1 for count in tried.values())  # never twice on the worker that failed it
    assert all((1, chunk.index) in tried for chunk in CHUNKS)
    assert frames == 40  # the failed halves were taken back


@pytest.mark.parametrize("failure", [DeviceFailed("device lost"), WorkerLost("actor died")])
def test_a_chunk_that_fails_everywhere_fails_the_job_after_its_tries(failure):
    tries: Counter[int] = Counter()

    def attempt(worker, chunk, progress, stop):
        tries[chunk.index] += 1
        raise failure

    with pytest.raises(type(failure)):
        run(attempt)
    assert max(tries.values()) == MAX_ATTEMPTS


def test_any_other_failure_stops_every_worker_at_once():
    def attempt(worker, chunk, progress, stop):
        if chunk.index == 1:
            raise ValueError("a bug")
        while not stop():  # a long chunk: runs until the queue says the job is over
            time.sleep(0.01)
        raise TimeoutError("stopped")

    started = time.monotonic()
    with pytest.raises(ValueError, match="a bug"):
        run(attempt)
    assert time.monotonic() - started < 5
