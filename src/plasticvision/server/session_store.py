"""Where sessions live beyond one process: the `SessionStore` interface and its in-memory default.

A stored session is a flat map of named fields (bytes) plus a revision that every write
bumps. Writes name only the fields they change (`settings.sharpness`, `sources`, ...), so two
replicas changing different parts of one session at once never undo each other, and a replica
that sees a revision it did not write knows its copy is stale. Each write and touch pushes the
idle expiry (`ttl_s`) forward; `None` keeps a session until it is deleted (the `default` one).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from plasticvision.errors import PlasticVisionError


class StoreUnavailable(PlasticVisionError):
    """The shared store cannot be reached: changes are refused so replicas never disagree silently."""

    status_code = 503


@dataclass(frozen=True)
class StoredSession:
    revision: int
    fields: dict[str, bytes]


@dataclass(frozen=True)
class WriteResult:
    revision: int
    existed: bool  # False: the record was gone (expired, or the store lost it) before this write


class SessionStore(Protocol):
    """Sessions by id. Implementations are thread-safe and raise StoreUnavailable when unreachable."""

    name: str
    shared: bool  # other processes use it too (worth a copy of what we hold, and calls off the event loop)

    def load(self, session_id: str) -> StoredSession | None:
        """Every field and the revision, or None when the store has no such session."""
        ...

    def revision(self, session_id: str, ttl_s: float | None) -> int | None:
        """The current revision (None: not stored), pushing the idle expiry forward."""
        ...

    def write(
        self, session_id: str, fields: Mapping[str, bytes | None], ttl_s: float | None, *, fill: Mapping[str, bytes] = {}
    ) -> WriteResult:
        """Set (or, for None, delete) these fields and bump the revision, atomically.

        `fill` fields are set only where the record has none: a replica restoring what it still
        holds after the store lost the record, without undoing another replica's newer write.
        """
        ...

    def touch(self, session_ids: Iterable[str], ttl_s: float) -> None:
        """Push the idle expiry of these sessions forward (the ones streams hold)."""
        ...

    def delete(self, session_id: str) -> None: ...

    def close(self) -> None: ...


@dataclass
class _Record:
    revision: int = 0
    fields: dict[str, bytes] = field(default_factory=dict)
    expires: float | None = None


class MemoryStore:
    """The default: one process, nothing shared. Expiry is checked lazily, like the registry's own."""

    name = "memory"
    shared = False

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def _live(self, session_id: str) -> _Record | None:
        record = self._records.get(session_id)
        if record is not None and record.expires is not None and record.expires <= self._clock():
            del self._records[session_id]
            return None
        return record

    def _expiry(self, ttl_s: float | None) -> float | None:
        return None if ttl_s is None else self._clock() + ttl_s

    def load(self, session_id: str) -> StoredSession | None:
        with self._lock:
            record = self._live(session_id)
            return None if record is None else StoredSession(record.revision, dict(record.fields))

    def revision(self, session_id: str, ttl_s: float | None) -> int | None:
        with self._lock:
            record = self._live(session_id)
            if record is None:
                return None
            record.expires = self._expiry(ttl_s)
            return record.revision

    def write(
        self, session_id: str, fields: Mapping[str, bytes | None], ttl_s: float | None, *, fill: Mapping[str, bytes] = {}
    ) -> WriteResult:
        with self._lock:
            record = self._live(session_id)
            existed = record is not None
            record = self._records[session_id] = record or _Record()
            for name, value in fill.items():
                record.fields.setdefault(name, value)
            for name, value in fields.items():
                if value is None:
                    record.fields.pop(name, None)
                else:
                    record.fields[name] = value
            record.revision += 1
            record.expires = self._expiry(ttl_s)
            return WriteResult(record.revision, existed)

    def touch(self, session_ids: Iterable[str], ttl_s: float) -> None:
        with self._lock:
            for session_id in session_ids:
                if (record := self._live(session_id)) is not None:
                    record.expires = self._expiry(ttl_s)

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._records.pop(session_id, None)

    def close(self) -> None:
        pass


def open_store(redis_url: str | None) -> SessionStore:
    """Redis when a URL is configured (needs the `redis` extra), else the in-memory store."""
    if not redis_url:
        return MemoryStore()
    from plasticvision.server.redis_store import RedisStore

    return RedisStore(redis_url)
