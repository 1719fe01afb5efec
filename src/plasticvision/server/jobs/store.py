"""Job records in SQLite, so a restart still lists finished jobs and owns up to interrupted ones.

One short-lived connection per call: SQLite serialises the writers, and no connection is
shared across threads. Only states and numbers live here; the files live in `JobFiles`.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from plasticvision.server.jobs.errors import JobExists


class JobState(str, Enum):
    QUEUED = "queued"
    RESUMING = "resuming"  # interrupted by a crash or a shutdown, queued again to go on from its last chunk
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


ACTIVE = tuple(state.value for state in JobState if not state.finished)  # what a queue and a quota count


class JobRecord(BaseModel):
    """What `GET /jobs/{id}` and every SSE event show."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    state: JobState
    stage: str = Field(description="queued, processing, finalizing, then the final state")
    created_at: float = Field(description="Unix time")
    updated_at: float
    filename: str = Field(description="the uploaded video's name")
    frames_done: int = 0
    frames_total: int = Field(0, description="an estimate until the job is done; 0 when unknown")
    fps: float = Field(0.0, description="frames processed per second")
    eta_s: float | None = Field(None, description="seconds left, estimated")
    error: str | None = Field(None, description="why the job failed or was cancelled")
    result_bytes: int | None = Field(None, description="size of the finished MP4")
    resumed_from_frame: int | None = Field(None, description="where the job went on after a restart")
    note: str | None = Field(None, description="e.g. 'resumed from frame 120'")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    stage TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    filename TEXT NOT NULL,
    frames_done INTEGER NOT NULL DEFAULT 0,
    frames_total INTEGER NOT NULL DEFAULT 0,
    fps REAL NOT NULL DEFAULT 0,
    eta_s REAL,
    error TEXT,
    result_bytes INTEGER
)
"""
COLUMNS = tuple(JobRecord.model_fields)
ADDED_COLUMNS = {  # columns newer than the first data dirs, added to those on open
    "owner": "TEXT NOT NULL DEFAULT 'default'",  # the session that started the job
    "client": "TEXT NOT NULL DEFAULT ''",  # the address it came from: a quota a new session id does not reset
    "upload_bytes": "INTEGER NOT NULL DEFAULT 0",
    "resumed_from_frame": "INTEGER",
    "note": "TEXT",
    "crashes": "INTEGER NOT NULL DEFAULT 0",  # restarts that found it running outside any chunk
}


class JobStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._execute(SCHEMA)
        present = {row["name"] for row in self._execute("PRAGMA table_info(jobs)")}
        for name, kind in ADDED_COLUMNS.items():
            if name not in present:
                self._execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)  # autocommit
        db.row_factory = sqlite3.Row
        return db

    def _execute(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with closing(self._connect()) as db:
            return db.execute(sql, params).fetchall()

    def create(self, job_id: str, filename: str, frames_total: int, owner: str = "default", client: str = "") -> JobRecord:
        """A queued record; `owner` is the session that started the job, the only one that sees it;
        `client` the address it came from."""
        now = time.time()
        record = JobRecord(
            job_id=job_id, state=JobState.QUEUED, stage="queued", created_at=now, updated_at=now,
            filename=filename, frames_total=frames_total,
        )
        try:
            self._execute(
                f"INSERT INTO jobs ({', '.join(COLUMNS)}, owner, client) VALUES ({', '.join('?' * (len(COLUMNS) + 2))})",
                (*(self._value(getattr(record, name)) for name in COLUMNS), owner, client),
            )
        except sqlite3.IntegrityError as exc:
            raise JobExists(f"job {job_id} already exists; choose another job_id") from exc
        return record

    def update(self, job_id: str, **changes: Any) -> JobRecord | None:
        changes["updated_at"] = time.time()
        assignments = ", ".join(f"{name} = ?" for name in changes)
        self._execute(
            f"UPDATE jobs SET {assignments} WHERE job_id = ?",
            (*(self._value(value) for value in changes.values()), job_id),
        )
        return self.get(job_id)

    def get(self, job_id: str, owner: str | None = None) -> JobRecord | None:
        """The job, if it exists (and, with `owner`, belongs to that session)."""
        rows = self._execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
        if not rows or (owner is not None and rows[0]["owner"] != owner):
            return None
        return self._record(rows[0])

    def all(self, owner: str | None = None) -> list[JobRecord]:
        """Every job, newest first (with `owner`, that session's only)."""
        if owner is None:
            rows = self._execute("SELECT * FROM jobs ORDER BY created_at DESC")
        else:
            rows = self._execute("SELECT * FROM jobs WHERE owner = ? ORDER BY created_at DESC", (owner,))
        return [self._record(row) for row in rows]

    def delete(self, job_id: str) -> None:
        self._execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))

    def unfinished(self) -> list[str]:
        """Queued, resuming and running jobs, oldest first: after a restart, what must be run again."""
        rows = self._execute(
            f"SELECT job_id FROM jobs WHERE state IN ({', '.join('?' * len(ACTIVE))}) ORDER BY created_at", ACTIVE
        )
        return [row["job_id"] for row in rows]

    def usage(self, column: str, value: str) -> tuple[int, int]:
        """(active jobs, bytes on disk: their uploads and every finished result) of one owner or client."""
        if column not in ("owner", "client"):
            raise ValueError(f"usage by {column!r}: only owner or client")
        marks = ", ".join("?" * len(ACTIVE))
        row = self._execute(
            f"SELECT COALESCE(SUM(state IN ({marks})), 0) AS jobs, "
            f"COALESCE(SUM(CASE WHEN state IN ({marks}) THEN upload_bytes ELSE COALESCE(result_bytes, 0) END), 0) AS bytes "
            f"FROM jobs WHERE {column} = ?",
            (*ACTIVE, *ACTIVE, value),
        )[0]
        return int(row["jobs"]), int(row["bytes"])

    def count_crash(self, job_id: str) -> int:
        """One more crash of the server while it ran this job outside its chunks; returns the count."""
        self._execute("UPDATE jobs SET crashes = crashes + 1 WHERE job_id = ?", (job_id,))
        return int(self._execute("SELECT crashes FROM jobs WHERE job_id = ?", (job_id,))[0]["crashes"])

    def active_count(self) -> int:
        marks = ", ".join("?" * len(ACTIVE))
        return int(self._execute(f"SELECT COUNT(*) AS n FROM jobs WHERE state IN ({marks})", ACTIVE)[0]["n"])

    @staticmethod
    def _value(value: Any) -> Any:
        return value.value if isinstance(value, JobState) else value

    @staticmethod
    def _record(row: sqlite3.Row) -> JobRecord:
        return JobRecord.model_validate({name: row[name] for name in COLUMNS})
