"""A job's chunk plan and its finished chunks, in the job store: what a restarted server resumes from.

The plan (keyframe-aligned chunks, `media.video_chunks`) is stored once, so a resumed job cuts
the video exactly as the first run did. A chunk counts as finished only once its file was
renamed into place whole and synced, and its SHA-256 recorded here; a resume checks the file
against it, so a chunk file damaged on disk is simply run again. Chunks may finish in any
order. A chunk that was running when the process died has `crashes` raised at the next
start: the same chunk crashing the server MAX_CRASHES times fails the job instead of looping.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from plasticvision.video.chunks import Chunk, ChunkResult, chunk_paths

MAX_CRASHES = 3
CRASH_CHUNK_ENV = "PLASTICVISION_TEST_CRASH_CHUNK"  # tests only: "K" makes chunk K kill the server (SIGKILL)
HASH_BLOCK = 1024 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    start INTEGER NOT NULL,
    stop INTEGER NOT NULL,
    warmup_from INTEGER NOT NULL,
    start_pts INTEGER NOT NULL,
    stop_pts INTEGER,
    warmup_pts INTEGER NOT NULL,
    seek_pts INTEGER,
    running INTEGER NOT NULL DEFAULT 0,
    crashes INTEGER NOT NULL DEFAULT 0,
    sha256 TEXT,
    frames INTEGER,
    frames_with_swap INTEGER,
    warmup_frames INTEGER,
    seconds REAL,
    PRIMARY KEY (job_id, idx)
)
"""
PLAN = tuple(field.name for field in fields(Chunk))  # the Chunk's fields, `index` stored as idx
RESULT = ("frames", "frames_with_swap", "warmup_frames", "seconds")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class ChunkLedger:
    """The chunk rows of every job, in the job store's SQLite file (one short-lived connection per call)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self._execute(SCHEMA)

    def _execute(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with closing(sqlite3.connect(self.database, timeout=10.0, isolation_level=None)) as db:
            db.row_factory = sqlite3.Row
            return db.execute(sql, params).fetchall()

    def plan(self, job_id: str) -> list[Chunk]:
        rows = self._execute("SELECT * FROM chunks WHERE job_id = ? ORDER BY idx", (job_id,))
        return [Chunk(*(row["idx" if name == "index" else name] for name in PLAN)) for row in rows]

    def save_plan(self, job_id: str, chunks: list[Chunk]) -> None:
        columns = ", ".join("idx" if name == "index" else name for name in PLAN)
        with closing(sqlite3.connect(self.database, timeout=10.0)) as db, db:  # one transaction: all or none
            db.executemany(
                f"INSERT INTO chunks (job_id, {columns}) VALUES (?, {', '.join('?' * len(PLAN))})",
                [(job_id, *asdict(chunk).values()) for chunk in chunks],
            )

    def finished(self, job_id: str, paths: dict[int, Path]) -> dict[int, ChunkResult]:
        """The chunks whose file is on disk with its recorded checksum; any other is forgotten (run again)."""
        rows = self._execute("SELECT * FROM chunks WHERE job_id = ? AND sha256 IS NOT NULL", (job_id,))
        good = {}
        for row in rows:
            path = paths.get(row["idx"])
            if path is not None and path.is_file() and sha256(path) == row["sha256"]:
                good[row["idx"]] = ChunkResult(row["idx"], *(row[name] for name in RESULT))
            else:
                self._execute("UPDATE chunks SET sha256 = NULL WHERE job_id = ? AND idx = ?", (job_id, row["idx"]))
        return good

    def first_unfinished(self, job_id: str) -> int | None:
        """When some chunk is finished (a resume), the first frame of the first one that is not (the frame
        count when all are: only the join is left); else None."""
        rows = self._execute("SELECT start, stop, sha256 FROM chunks WHERE job_id = ? ORDER BY idx", (job_id,))
        if not any(row["sha256"] for row in rows):
            return None
        return next((row["start"] for row in rows if row["sha256"] is None), rows[-1]["stop"])

    def started(self, job_id: str, chunk: Chunk) -> None:
        self._execute("UPDATE chunks SET running = 1 WHERE job_id = ? AND idx = ?", (job_id, chunk.index))
        if os.environ.get(CRASH_CHUNK_ENV) == str(chunk.index):
            os.kill(os.getpid(), signal.SIGKILL)  # a chunk that takes the process down, as a driver bug would

    def stopped(self, job_id: str, chunk: Chunk) -> None:
        """The attempt ended without a crash (a failure, a cancellation or a shutdown)."""
        self._execute("UPDATE chunks SET running = 0 WHERE job_id = ? AND idx = ?", (job_id, chunk.index))

    def done(self, job_id: str, result: ChunkResult, path: Path) -> None:
        values = (sha256(path), *(getattr(result, name) for name in RESULT), job_id, result.index)
        self._execute(
            f"UPDATE chunks SET running = 0, sha256 = ?, {', '.join(f'{name} = ?' for name in RESULT)} "
            "WHERE job_id = ? AND idx = ?",
            values,
        )

    def any_running(self, job_id: str) -> bool:
        return bool(self._execute("SELECT 1 FROM chunks WHERE job_id = ? AND running = 1", (job_id,)))

    def count_crashes(self, job_id: str) -> Chunk | None:
        """After a restart: chunks still marked running crashed the server; the first one that did so
        MAX_CRASHES times, if any."""
        self._execute("UPDATE chunks SET crashes = crashes + 1, running = 0 WHERE job_id = ? AND running = 1", (job_id,))
        worst = [chunk for chunk in self.plan(job_id) if self._crashes(job_id, chunk) >= MAX_CRASHES]
        return worst[0] if worst else None

    def _crashes(self, job_id: str, chunk: Chunk) -> int:
        rows = self._execute("SELECT crashes FROM chunks WHERE job_id = ? AND idx = ?", (job_id, chunk.index))
        return int(rows[0]["crashes"]) if rows else 0

    def forget(self, job_id: str) -> None:
        self._execute("DELETE FROM chunks WHERE job_id = ?", (job_id,))


@dataclass(frozen=True)
class JobChunks:
    """One job's chunks as the chunked swap sees them: where their files go, their ledger rows (it is
    the queue's `ChunkWatcher`), the name limit errors give the file, and whether the server is draining."""

    job_id: str
    ledger: ChunkLedger
    folder: Path
    name: str
    draining: Callable[[], bool]

    def paths(self, chunks: Sequence[Chunk]) -> dict[int, Path]:
        return dict(zip((chunk.index for chunk in chunks), chunk_paths(self.folder, chunks)))

    def started(self, chunk: Chunk) -> None:
        self.ledger.started(self.job_id, chunk)

    def done(self, chunk: Chunk, result: ChunkResult) -> None:
        self.ledger.done(self.job_id, result, self.paths([chunk])[chunk.index])

    def stopped(self, chunk: Chunk) -> None:
        self.ledger.stopped(self.job_id, chunk)
