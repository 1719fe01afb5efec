"""Finished jobs don't fill the disk: records and results expire, and results stay within a budget.

A finished job (done, failed or cancelled) and its result are deleted `ttl_s` after it
finished (`PLASTICVISION_RESULT_TTL_S`); a queued or resuming job untouched for `ttl_s` is
abandoned first (failed, its upload and chunks deleted: the `abandon` hook), then expires the same way; then, while the results folder holds more than
`max_bytes` (`PLASTICVISION_MAX_RESULTS_GB`), the oldest finished results go first, each with
its record, so a client asking for it gets a 404, never a half-file. Running jobs are never touched. A sweep runs at start-up and then every `interval_s` on a thread of
its own; the clock is a parameter so tests can move time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from plasticvision.server.jobs.files import JobFiles
from plasticvision.server.jobs.store import JobRecord, JobStore

log = logging.getLogger(__name__)

MAX_INTERVAL_S = 60.0
GB = 1024**3


class Retention:
    def __init__(
        self,
        store: JobStore,
        files: JobFiles,
        ttl_s: float,
        max_bytes: int,
        clock: Callable[[], float] = time.time,  # the store's timestamps are Unix time
        abandon: Callable[[float], list[str]] | None = None,  # fails unfinished jobs untouched since a cutoff
    ) -> None:
        self.abandon = abandon
        self.store = store
        self.files = files
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def interval_s(self) -> float:
        return min(MAX_INTERVAL_S, self.ttl_s / 10)

    def sweep(self) -> list[str]:
        """Delete what has expired, then the oldest results over the budget; returns the job ids removed."""
        cutoff = self._clock() - self.ttl_s
        if self.abandon is not None:
            self.abandon(cutoff)
        finished = sorted((r for r in self.store.all() if r.state.finished), key=lambda r: r.updated_at)
        expired = [record for record in finished if record.updated_at < cutoff]
        kept = [record for record in finished if record.updated_at >= cutoff]
        sizes = {record.job_id: self._result_bytes(record) for record in kept}
        total = sum(sizes.values())
        over_budget = []
        for record in kept:  # oldest first
            if total <= self.max_bytes:
                break
            if sizes[record.job_id]:
                over_budget.append(record)
                total -= sizes[record.job_id]
        for record in expired + over_budget:
            self.files.discard_all(record.job_id)
            self.store.delete(record.job_id)
        if expired or over_budget:
            log.info("results retention: %d job(s) expired, %d removed over the %.2f GB budget",
                     len(expired), len(over_budget), self.max_bytes / GB)
        return [record.job_id for record in expired + over_budget]

    def _result_bytes(self, record: JobRecord) -> int:
        try:
            return self.files.result(record.job_id).stat().st_size
        except FileNotFoundError:
            return 0

    def start(self) -> None:
        self.sweep()
        self._thread = threading.Thread(target=self._run, name="plasticvision-retention", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sweep()
            except Exception:  # a failed sweep (e.g. a locked database) is retried at the next one
                log.exception("results retention sweep failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
