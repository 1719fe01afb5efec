"""The default session store: one process, nothing shared, expiry checked lazily like the registry's own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from plasticvision.server.sessions.store import StoredSession, WriteResult


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
