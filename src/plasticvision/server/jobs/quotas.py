"""How much of the server video jobs may take: queue depth, per-client quotas, and free disk.

Checked twice: by the admission middleware from the request's headers, before a byte of the
upload is spooled, and again when the job is reserved (two uploads may race past the first
check). A quota counts a client's queued, resuming and running jobs and its bytes on disk
(their uploads and its finished results), per session and per address alike, so a client
that makes up a new session id per job still meets its address's quota. Refusals that
clear with time are 429 with `Retry-After` (when the soonest running job should end);
a disk without room for the upload is 507.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from plasticvision.errors import DiskFull, PlasticVisionError
from plasticvision.server.jobs.store import JobState, JobStore

GB = 1024**3
MB = 1024**2
DEFAULT_RETRY_S = 60
MAX_RETRY_S = 3600


class JobsRefused(PlasticVisionError):
    """The queue or a quota is full: try again later (`Retry-After`)."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, min(MAX_RETRY_S, math.ceil(retry_after_s))))}


class QueueFull(JobsRefused):
    type = "queue_full"


class QuotaExceeded(JobsRefused):
    type = "quota_exceeded"


@dataclass(frozen=True)
class JobQuotas:
    max_queue: int  # active jobs on the server
    jobs_per_client: int  # active jobs per session and per address
    bytes_per_client: int  # bytes on disk per session and per address
    min_free_bytes: int  # kept free on the data dir and TMPDIR after an upload

    def check(self, store: JobStore, owner: str, client: str, incoming: int) -> None:
        """Raise JobsRefused when one more job of `incoming` bytes from this session and address is too much."""
        active = store.active_count()
        if active >= self.max_queue:
            raise QueueFull(
                f"the video queue is full ({active} jobs, PLASTICVISION_MAX_VIDEO_QUEUE); try again later",
                retry_after(store),
            )
        for kind, column, value in (("session", "owner", owner), ("address", "client", client)):
            jobs, used = store.usage(column, value)
            if jobs >= self.jobs_per_client:
                raise QuotaExceeded(
                    f"this {kind} already has {jobs} video jobs queued or running, the most allowed "
                    "(PLASTICVISION_MAX_VIDEO_JOBS_PER_CLIENT); wait for one to finish or cancel one",
                    retry_after(store),
                )
            if used + incoming > self.bytes_per_client:
                raise QuotaExceeded(
                    f"this {kind} would hold {(used + incoming) / GB:.2f} GB of videos, over its "
                    f"{self.bytes_per_client / GB:g} GB quota (PLASTICVISION_MAX_VIDEO_GB_PER_CLIENT); "
                    "delete finished jobs (DELETE /jobs/{id}) to make room",
                    retry_after(store),
                )

    def check_disk(self, data_dir: Path, incoming: int) -> None:
        """Raise DiskFull (507) unless TMPDIR (where the body is spooled) and the data dir (where it is
        copied, then swapped) both keep `min_free_bytes` after taking `incoming` bytes each."""
        spool = Path(tempfile.gettempdir())
        need = {spool: incoming + self.min_free_bytes, data_dir: incoming + self.min_free_bytes}
        if same_disk(spool, data_dir):
            need = {data_dir: 2 * incoming + self.min_free_bytes}
        for folder, bytes_needed in need.items():
            free = shutil.disk_usage(folder).free
            if free < bytes_needed:
                raise DiskFull(
                    f"not enough disk space for this upload: {free / MB:,.0f} MB free where "
                    f"{bytes_needed / MB:,.0f} MB are needed; try a smaller video or later"
                )


def same_disk(a: Path, b: Path) -> bool:
    return os.stat(a).st_dev == os.stat(b).st_dev


def retry_after(store: JobStore) -> float:
    """Seconds until the running job expected to end first ends (a guess when none says)."""
    etas = [record.eta_s for record in store.all() if record.state is JobState.RUNNING and record.eta_s]
    return min(etas, default=DEFAULT_RETRY_S)
