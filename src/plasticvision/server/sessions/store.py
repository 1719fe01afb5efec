"""Where sessions live beyond one process: the `SessionStore` interface (`memory_store` and `redis_store` implement it).

A stored session is a flat map of named fields (bytes) plus a revision that every write
bumps. Writes name only the fields they change (`settings.sharpness`, `sources`, ...), so two
replicas changing different parts of one session at once never undo each other, and a replica
that sees a revision it did not write knows its copy is stale. Each write and touch pushes the
idle expiry (`ttl_s`) forward; `None` keeps a session until it is deleted (the `default` one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from plasticvision.errors import PlasticVisionError


class StoreUnavailable(PlasticVisionError):
    """The shared store cannot be reached: changes are refused so replicas never disagree silently."""

    type = "store_unavailable"


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
