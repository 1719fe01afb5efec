"""`VideoJobs`: runs video swaps on a pool of its own, at most `max_jobs` at once, the rest queued.

A job outlives the request that started it (a client that disconnects does not stop it), and
the process that ran it: its upload, what it swaps with (`spec.JobSpec`) and its finished
chunks (`ledger`) are on disk, so at start-up the jobs a previous process left queued or
running go back to the queue as `resuming` and go on from their first unfinished chunk. A
chunk that was running each time the server died MAX_CRASHES times fails its job instead.
`cancel` stops a job between two frames; a shutdown lets running chunks finish (for up to
DRAIN_S), then stops them, and leaves the jobs to be resumed by the next start.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from plasticvision.errors import PlasticVisionError
from plasticvision.pipeline.session import SwapSession
from plasticvision.server.jobs.chunk_queue import Interrupted
from plasticvision.server.jobs.chunked import ChunkedVideoSwap
from plasticvision.server.jobs.errors import BadJobId, JobNotFound
from plasticvision.server.jobs.feed import POLL_S, JobFeed
from plasticvision.server.jobs.files import JobFiles
from plasticvision.server.jobs.ledger import MAX_CRASHES, ChunkLedger, JobChunks
from plasticvision.server.jobs.quotas import JobQuotas
from plasticvision.server.jobs.spec import JobSpec
from plasticvision.server.jobs.store import JobRecord, JobState, JobStore
from plasticvision.settings import Settings
from plasticvision.video.disk_full import is_disk_full
from plasticvision.video.process import Cancelled, VideoProgress

log = logging.getLogger(__name__)

JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # also a folder and file name: no dots, no slashes
INTERRUPTED = "interrupted: the server stopped before the job's upload was complete"
DRAIN_S = 20.0  # at shutdown, how long running chunks may take to finish (within systemd's stop timeout)


def check_job_id(job_id: str | None) -> str:
    """The client's id if well formed, a fresh random one if none was given."""
    if job_id is None or job_id == "":
        return uuid.uuid4().hex
    if not JOB_ID.fullmatch(job_id):
        raise BadJobId("job_id: expected 1-64 letters, digits, '-' or '_'")
    return job_id


@dataclass
class LiveJob:
    """A job of this process: its progress feed and the flags that coordinate cancel and run."""

    feed: JobFeed = field(default_factory=JobFeed)
    cancel: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: bool = False


class VideoJobs:
    def __init__(
        self,
        data_dir: Path,
        max_jobs: int,
        swap: ChunkedVideoSwap,
        new_session: Callable[[], SwapSession],
        quotas: JobQuotas | None = None,
    ) -> None:
        self.swap = swap
        self.new_session = new_session  # a fresh session of the running engine, for a job's stored sources
        self.quotas = quotas
        self.files = JobFiles(data_dir)
        self.store = JobStore(self.files.database)
        self.ledger = ChunkLedger(self.files.database)
        self._pool = ThreadPoolExecutor(max_jobs, thread_name_prefix="plasticvision-video")
        self._live: dict[str, LiveJob] = {}
        self._draining = threading.Event()
        self._stopping = False

    def resume_interrupted(self) -> None:
        """At start-up: queue again what a previous process left unfinished; fail what cannot go on."""
        unfinished = self.store.unfinished()
        done = {record.job_id for record in self.store.all() if record.state is JobState.DONE}
        self.files.discard_orphans(keep_results=done, keep_work=set(unfinished))
        for job_id in unfinished:
            if not (self.files.spec(job_id).is_file() and self.files.target(job_id).is_file()):
                log.warning("video job %s was interrupted before its upload was complete; marked failed", job_id)
                self._end(job_id, JobState.FAILED, error=INTERRUPTED)
                continue
            reason = self._crash_loop(job_id)
            if reason is not None:
                log.error("video job %s: %s", job_id, reason)
                self._end(job_id, JobState.FAILED, error=reason)
                continue
            log.warning("video job %s was interrupted by a restart; resuming it", job_id)
            live = self._live[job_id] = LiveJob()
            record = self.store.update(job_id, state=JobState.RESUMING.value, stage="resuming", eta_s=None)
            live.feed.publish(JobState.RESUMING.value, record.to_json() if record else {})
            self._pool.submit(self._run, job_id, live)

    def _crash_loop(self, job_id: str) -> str | None:
        """Count the crash a restart found this job in (in a chunk, or reading or joining the video outside
        them); why it must not run again once the same place crashed the server MAX_CRASHES times."""
        record = self.get(job_id)
        outside_chunks = record.state is JobState.RUNNING and not self.ledger.any_running(job_id)
        crashed = self.ledger.count_crashes(job_id)
        if crashed is not None:
            where = f"chunk {crashed.index} (frames {crashed.start}-{crashed.stop - 1})"
        elif outside_chunks and self.store.count_crash(job_id) >= MAX_CRASHES:
            where = "reading or joining the video (outside its chunks)"
        else:
            return None
        return f"{where} crashed the server {MAX_CRASHES} times; the job was stopped so that it does not crash it again"

    def reserve(self, job_id: str, filename: str, owner: str = "default", client: str = "", incoming: int = 0) -> Path:
        """Claim the id (a queued record of the `owner` session) before the upload is written; returns the
        upload folder. Raises JobsRefused when the queue or a quota is full (`incoming`: the upload's bytes)."""
        if self.quotas is not None:
            self.quotas.check(self.store, owner, client, incoming)
        self.store.create(job_id, filename, frames_total=0, owner=owner, client=client)
        live = self._live[job_id] = LiveJob()
        self.files.prepare(job_id)
        live.feed.publish(JobState.QUEUED.value, self.get(job_id).to_json())
        return self.files.upload_dir(job_id)

    def start(self, job_id: str, session: SwapSession, settings: Settings, target: Path, frames_total: int) -> None:
        """Store what the job swaps with beside its upload, then queue it."""
        filename = self.get(job_id).filename
        self.files.sync_target(job_id)
        JobSpec.of(session, settings, filename).save(self.files.spec(job_id))
        self.store.update(job_id, frames_total=frames_total, upload_bytes=target.stat().st_size)
        self._pool.submit(self._run, job_id, self._live[job_id])

    def reject(self, job_id: str, reason: str) -> None:
        """A reserved job whose upload was refused: kept as failed, so a follower learns why."""
        self._finish(job_id, self._live.get(job_id) or LiveJob(), JobState.FAILED, error=reason)

    def get(self, job_id: str, owner: str | None = None) -> JobRecord:
        """The job; with `owner`, only that session's (another session's job is as unknown as a missing one)."""
        record = self.store.get(job_id, owner)
        if record is None:
            raise JobNotFound(f"no video job {job_id}")
        return record

    def all(self, owner: str | None = None) -> list[JobRecord]:
        return self.store.all(owner)

    def feed(self, job_id: str, owner: str | None = None) -> JobFeed:
        """The live feed, or for a job of an earlier process a closed one holding its final state."""
        record = self.get(job_id, owner)
        live = self._live.get(job_id)
        if live is not None:
            return live.feed
        feed = JobFeed()
        feed.publish(record.state.value, record.to_json(), final=True)
        return feed

    def result(self, job_id: str) -> Path:
        return self.files.result(job_id)

    async def wait(self, job_id: str, timeout: float | None = None) -> JobRecord:
        """Wait (without holding a thread) until the job has finished or `timeout` passed."""
        live = self._live.get(job_id)
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while live is not None and not live.finished.is_set():
            if deadline is not None and asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(POLL_S)
        return self.get(job_id)

    def cancel(self, job_id: str, owner: str | None = None) -> JobRecord:
        """Stop a queued or running job (its record stays, cancelled); delete a finished one and its result."""
        record = self.get(job_id, owner)
        live = self._live.get(job_id)
        if live is None:
            self.files.discard_all(job_id)
            self.store.delete(job_id)
            return record
        live.cancel.set()
        with live.lock:
            started = live.started
        if not started:
            self._finish(job_id, live, JobState.CANCELLED, error="cancelled before it started")
        return self.get(job_id)

    def abandon_stale(self, cutoff: float) -> list[str]:
        """Fail queued or resuming jobs not touched since `cutoff` (Unix time): retention's hook, so that a
        job nothing will run (a crash loop, a queue that never drained) does not keep its upload for ever."""
        stale = []
        for record in self.store.all():
            if record.state not in (JobState.QUEUED, JobState.RESUMING) or record.updated_at >= cutoff:
                continue
            if not self.files.spec(record.job_id).is_file():  # its upload is still arriving
                continue
            live = self._live.get(record.job_id) or LiveJob()
            live.cancel.set()
            with live.lock:
                if live.started:
                    continue
            self._finish(record.job_id, live, JobState.FAILED, error="abandoned: it waited longer than the retention time")
            stale.append(record.job_id)
        return stale

    def _run(self, job_id: str, live: LiveJob) -> None:
        with live.lock:
            if live.cancel.is_set() or self._stopping:
                return
            live.started = True
        try:
            spec = JobSpec.load(self.files.spec(job_id))
            resumed = self.ledger.first_unfinished(job_id)
            note = {} if resumed is None else {"resumed_from_frame": resumed, "note": f"resumed from frame {resumed}"}
            self._progress(live, self.store.update(job_id, state=JobState.RUNNING.value, stage="processing", **note))
            result = self.swap(
                spec.session(self.new_session()),
                spec.settings,
                self.files.target(job_id),
                self.files.result(job_id),
                on_progress=lambda progress: self._progress(live, self.store.update(job_id, **progress_columns(progress))),
                should_stop=live.cancel.is_set,
                temp_dir=self.files.temp_dir(job_id),
                job=JobChunks(job_id, self.ledger, self.files.chunk_dir(job_id), spec.filename, self._draining.is_set),
            )
        except Cancelled as exc:
            if self._stopping or isinstance(exc, Interrupted):
                self._pause(job_id, live)
            else:
                self._finish(job_id, live, JobState.CANCELLED, error="cancelled")
        except PlasticVisionError as exc:
            log.warning("video job %s failed: %s", job_id, exc)
            self._finish(job_id, live, JobState.FAILED, error=str(exc))
        except Exception as exc:  # a full disk (under a chunk, the join or the store), or a bug: never "running"
            if is_disk_full(exc):
                log.warning("video job %s failed: disk full (%s)", job_id, exc)
                self._finish(job_id, live, JobState.FAILED, error="disk full: free some space; nothing partial was kept")
            else:
                log.exception("video job %s crashed", job_id)
                self._finish(job_id, live, JobState.FAILED, error=f"internal error ({type(exc).__name__})")
        else:
            size = self.files.result(job_id).stat().st_size
            self._finish(job_id, live, JobState.DONE, result_bytes=size, **progress_columns(result.progress))

    @staticmethod
    def _progress(live: LiveJob, record: JobRecord | None) -> None:
        if record is not None:
            live.feed.publish("progress", record.to_json())

    def _pause(self, job_id: str, live: LiveJob) -> None:
        """A shutdown stopped the job: its finished chunks stay, and the next start resumes it."""
        record = self.store.update(job_id, state=JobState.RESUMING.value, stage="resuming", eta_s=None,
                                   note="interrupted by a shutdown; it resumes when the server starts again")
        if record is not None:
            live.feed.publish(JobState.RESUMING.value, record.to_json(), final=True)
        live.finished.set()

    def _finish(self, job_id: str, live: LiveJob, state: JobState, **columns: object) -> None:
        """Record the end, tell the followers, and forget the live state (late followers read the record)."""
        record = self._end(job_id, state, **columns)
        if record is not None:
            live.feed.publish(state.value, record.to_json(), final=True)
        live.finished.set()
        self._live.pop(job_id, None)

    def _end(self, job_id: str, state: JobState, **columns: object) -> JobRecord | None:
        """The job's final state recorded, and everything but its result removed from disk."""
        self.files.discard_work(job_id)
        self.ledger.forget(job_id)
        return self.store.update(job_id, **{"stage": state.value, **columns, "state": state.value, "eta_s": None})

    def shutdown(self) -> None:
        """Running chunks finish (for up to DRAIN_S; then they stop between two frames), no new chunk or
        job starts, and every unfinished job stays on disk for the next start to resume."""
        self._stopping = True
        self._draining.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + DRAIN_S
        for live in list(self._live.values()):
            if live.started and not live.finished.wait(max(0.0, deadline - time.monotonic())):
                live.cancel.set()
        self._pool.shutdown(wait=True)
        self.swap.close()


def progress_columns(progress: VideoProgress) -> dict[str, object]:
    return {
        "stage": progress.stage,
        "frames_done": progress.frames_done,
        "frames_total": progress.frames_total,
        "fps": round(progress.fps, 2),
        "eta_s": None if progress.eta_s is None else round(progress.eta_s, 1),
    }
