"""Keeps each in-process `SwapSession` and its stored copy in step: restore, persist, refresh, keep alive.

Every change a session journals is written to the store before it takes effect, so a change
the store refuses (Redis down: 503) never happens, and another replica can always rebuild
the session. A replica that sees a revision it did not write reloads the session (in place,
so a stream holding it sees the change; held sessions are refreshed every few seconds). When the store has lost a session this process
still holds (Redis restarted without persistence, or an expiry raced a stream), the
process writes back what it holds, without undoing a newer write from elsewhere (so for a shared
store it keeps a copy of each session's stored fields; for the in-memory one it needs none).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from plasticvision.pipeline.session import SwapSession
from plasticvision.server.sessions.parts import PARTS, SessionPart
from plasticvision.server.sessions.store import SessionStore, StoreUnavailable
from plasticvision.server.sessions.ids import log_name

log = logging.getLogger(__name__)

UNKNOWN = -1
HELD_REFRESH_S = 2.0


@dataclass
class Known:
    """What this process last saw of a session in the store: its revision and every field."""

    revision: int = UNKNOWN
    fields: dict[str, bytes] = field(default_factory=dict)


class SessionSync:
    def __init__(
        self,
        store: SessionStore,
        idle_s: float,
        *,
        pinned: Iterable[str] = (),
        parts: tuple[SessionPart, ...] = PARTS,
    ) -> None:
        self.store = store
        self.idle_s = idle_s
        self.pinned = frozenset(pinned)  # sessions that never expire (the default one)
        self.parts = {part.kind: part for part in parts}
        self._known: dict[str, Known] = {}
        self._lock = threading.Lock()

    def ttl(self, session_id: str) -> float | None:
        return None if session_id in self.pinned else self.idle_s

    def attach(self, session_id: str, session: SwapSession) -> None:
        """From now on, the session's changes go to the store first."""
        session.attach_journal(partial(self.record, session_id))

    def forget(self, session_id: str) -> None:
        """The registry dropped the session (idle); the store expires its copy by itself."""
        with self._lock:
            self._known.pop(session_id, None)

    def record(self, session_id: str, kind: str, value: object) -> None:
        """Persist one journaled change; raises StoreUnavailable (and the change does not happen)."""
        fields = self.parts[kind].fields(value)
        result = self.store.write(session_id, fields, self.ttl(session_id))
        with self._lock:
            known = self._known.setdefault(session_id, Known())
            expected = known.revision + 1
            if not result.existed and known.fields:  # the store lost it: put back what we hold
                result = self.store.write(session_id, {}, self.ttl(session_id), fill=known.fields)
                expected = result.revision
            known.revision = result.revision if result.revision == expected or not result.existed else UNKNOWN
            if self.store.shared:
                known.fields.update({name: data for name, data in fields.items() if data is not None})
                for name in [name for name, data in fields.items() if data is None]:
                    known.fields.pop(name, None)

    def refresh(self, session_id: str, session: SwapSession) -> None:
        """Bring the session up to the store's revision; with the store down, serve what is here."""
        try:
            self._refresh(session_id, session)
        except StoreUnavailable as exc:
            log.debug("session %s served from memory: %s", log_name(session_id), exc)

    def _refresh(self, session_id: str, session: SwapSession) -> None:
        with self._lock:
            known = self._known.get(session_id)
            held = dict(known.fields) if known else {}
        revision = self.store.revision(session_id, self.ttl(session_id))
        if revision is None:
            if not held:
                if known is None:
                    self._remember(session_id, 0, {})
                return
            result = self.store.write(session_id, {}, self.ttl(session_id), fill=held)
            if not result.existed:
                log.info("session %s was missing from the store; wrote back what this process holds", log_name(session_id))
                self._remember(session_id, result.revision, held)
                return
            revision = result.revision  # another replica wrote it meanwhile: load the union
        if known is not None and revision == known.revision:
            return
        stored = self.store.load(session_id)
        if stored is None:
            return
        self.restore(session, stored.fields)
        self._remember(session_id, stored.revision, stored.fields)

    def restore(self, session: SwapSession, fields: dict[str, bytes]) -> None:
        for part in self.parts.values():
            part.restore(session, {name: data for name, data in fields.items() if part.owns(name)})

    def _remember(self, session_id: str, revision: int, fields: dict[str, bytes]) -> None:
        with self._lock:
            self._known[session_id] = Known(revision, dict(fields) if self.store.shared else {})

    def touch(self, session_ids: Iterable[str]) -> None:
        """Push the stored expiry forward (a stream just let go); a store that is down is not waited for."""
        ids = [session_id for session_id in session_ids if session_id not in self.pinned]
        try:
            self.store.touch(ids, self.idle_s)
        except StoreUnavailable:
            pass


async def keep_alive(sync: SessionSync, held: Callable[[], list[tuple[str, SwapSession]]]) -> None:
    """Until cancelled: refresh the sessions that streams hold every HELD_REFRESH_S, so a change made
    through another replica reaches an open stream within seconds, and its session never expires
    from the store under it (each refresh pushes the expiry forward)."""
    every_s = min(HELD_REFRESH_S, sync.idle_s / 3)
    while True:
        await asyncio.sleep(every_s)
        for session_id, session in held():
            await asyncio.to_thread(sync.refresh, session_id, session)
