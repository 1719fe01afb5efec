"""`VideoJobs`: runs video swaps on a pool of its own, at most `max_jobs` at once, the rest queued.

A job outlives the request that started it (a client that disconnects does not stop it);
`cancel` stops it between two frames. At start-up, jobs that a previous process left
queued or running are marked failed and their files removed; finished ones stay listed.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from plasticvision.errors import PlasticVisionError
from plasticvision.pipeline.session import SwapSession
from plasticvision.server.jobs.chunked import SinglePass, VideoSwap
from plasticvision.server.jobs.errors import BadJobId, JobNotFound
from plasticvision.server.jobs.feed import POLL_S, JobFeed
from plasticvision.server.jobs.files import JobFiles
from plasticvision.server.jobs.store import JobRecord, JobState, JobStore
from plasticvision.settings import Settings
from plasticvision.video.disk_full import is_disk_full
from plasticvision.video.process import Cancelled, VideoProgress

log = logging.getLogger(__name__)

JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # also a folder and file name: no dots, no slashes
INTERRUPTED = "interrupted: the server stopped before the job finished"


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
    def __init__(self, data_dir: Path, max_jobs: int, swap: VideoSwap | None = None) -> None:
        self.swap = swap or SinglePass()  # chunked over the device pool or Ray: `chunked.video_swap_for`
        self.files = JobFiles(data_dir)
        self.store = JobStore(self.files.database)
        self._recover()
        self._pool = ThreadPoolExecutor(max_jobs, thread_name_prefix="plasticvision-video")
        self._live: dict[str, LiveJob] = {}
        self._stopping = False

    def _recover(self) -> None:
        for job_id in self.store.fail_unfinished(INTERRUPTED):
            log.warning("video job %s was interrupted by a restart; marked failed", job_id)
        done = {record.job_id for record in self.store.all() if record.state is JobState.DONE}
        self.files.discard_orphans(keep=done)

    def reserve(self, job_id: str, filename: str, owner: str = "default") -> Path:
        """Claim the id (a queued record of the `owner` session) before the upload is written; returns the
        upload folder."""
        self.store.create(job_id, filename, frames_total=0, owner=owner)
        live = self._live[job_id] = LiveJob()
        self.files.prepare(job_id)
        live.feed.publish(JobState.QUEUED.value, self.get(job_id).to_json())
        return self.files.upload_dir(job_id)

    def start(self, job_id: str, session: SwapSession, settings: Settings, target: Path, frames_total: int) -> None:
        self.store.update(job_id, frames_total=frames_total)
        self._pool.submit(self._run, job_id, self._live[job_id], session, settings, target)

    def reject(self, job_id: str, reason: str) -> None:
        """A reserved job whose upload was refused: kept as failed, so a follower learns why."""
        self._finish(job_id, self._live[job_id], JobState.FAILED, error=reason)

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

    def _run(self, job_id: str, live: LiveJob, session: SwapSession, settings: Settings, target: Path) -> None:
        with live.lock:
            if live.cancel.is_set():
                return
            live.started = True
        self._progress(live, self.store.update(job_id, state=JobState.RUNNING.value, stage="processing"))
        try:
            result = self.swap(
                session,
                settings,
                target,
                self.files.result(job_id),
                on_progress=lambda progress: self._progress(live, self.store.update(job_id, **progress_columns(progress))),
                should_stop=live.cancel.is_set,
                temp_dir=self.files.temp_dir(job_id),
            )
        except Cancelled:
            state, reason = (JobState.FAILED, INTERRUPTED) if self._stopping else (JobState.CANCELLED, "cancelled")
            self._finish(job_id, live, state, error=reason)
        except PlasticVisionError as exc:
            log.warning("video job %s failed: %s", job_id, exc)
            self._finish(job_id, live, JobState.FAILED, error=str(exc))
        except Exception as exc:  # a bug (or a full disk under the job store) must not leave the job "running"
            log.exception("video job %s crashed", job_id)
            reason = "disk full" if is_disk_full(exc) else f"internal error ({type(exc).__name__})"
            self._finish(job_id, live, JobState.FAILED, error=reason)
        else:
            size = self.files.result(job_id).stat().st_size
            self._finish(job_id, live, JobState.DONE, result_bytes=size, **progress_columns(result.progress))

    @staticmethod
    def _progress(live: LiveJob, record: JobRecord | None) -> None:
        if record is not None:
            live.feed.publish("progress", record.to_json())

    def _finish(self, job_id: str, live: LiveJob, state: JobState, **columns: object) -> None:
        """Record the end, tell the followers, and forget the live state (late followers read the record)."""
        self.files.discard_work(job_id)
        record = self.store.update(job_id, **{"stage": state.value, **columns, "state": state.value, "eta_s": None})
        if record is not None:
            live.feed.publish(state.value, record.to_json(), final=True)
        live.finished.set()
        self._live.pop(job_id, None)

    def shutdown(self) -> None:
        """Stop running jobs between two frames; they, and the queued ones, are recorded as interrupted."""
        self._stopping = True
        for live in list(self._live.values()):
            live.cancel.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.swap.close()
        for job_id in self.store.fail_unfinished(INTERRUPTED):
            self.files.discard_work(job_id)


def progress_columns(progress: VideoProgress) -> dict[str, object]:
    return {
        "stage": progress.stage,
        "frames_done": progress.frames_done,
        "frames_total": progress.frames_total,
        "fps": round(progress.fps, 2),
        "eta_s": None if progress.eta_s is None else round(progress.eta_s, 1),
    }
