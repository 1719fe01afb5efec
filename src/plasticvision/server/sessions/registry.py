"""Who is using which `SwapSession`: ids, idle expiry, and the session and connection limits.

The `default` session is the swapper's own, pinned and never expired, so the plain seed
API works unchanged for one user. Other ids get a fresh session on first use; a session
is idle when no request touched it for `idle_s` and no WebSocket holds it. Each session is
kept in step with a `SessionStore` (memory by default, Redis for many replicas) through
`SessionSync`: on first use here it is restored from there, and each use picks up changes
another replica made.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from contextlib import asynccontextmanager, contextmanager
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

from starlette.datastructures import Headers, QueryParams
from starlette.types import Scope

from plasticvision.api import FaceSwapper
from plasticvision.errors import PlasticVisionError
from plasticvision.pipeline.session import SwapSession
from plasticvision.server.sessions.memory_store import MemoryStore
from plasticvision.server.sessions.store import SessionStore
from plasticvision.server.sessions.sync import SessionSync
from plasticvision.server.sessions.ids import SessionIds

T = TypeVar("T")
DEFAULT_SESSION = "default"
SESSION_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # whole string: re.fullmatch, never a trailing newline


class BadSessionId(PlasticVisionError):
    type = "bad_session"


class SessionRequired(PlasticVisionError):
    """`PLASTICVISION_REQUIRE_SESSION`: on a shared server nobody may fall into the `default` session."""

    type = "session_required"


class SessionNotIssued(PlasticVisionError):
    """Only ids from `POST /sessions` (or an `X-Session-Id` answer): an invented one could be someone else's."""

    type = "session_not_issued"


class TooManySessions(PlasticVisionError):
    type = "too_many_sessions"


class TooManyConnections(PlasticVisionError):
    type = "too_many_connections"


class SessionRegistry:
    """Sessions by id, expired lazily on access (no background task to start or stop)."""

    def __init__(
        self,
        swapper: FaceSwapper,
        *,
        max_sessions: int,
        idle_s: float,
        max_connections: int,
        max_connections_per_session: int,
        store: SessionStore | None = None,
        require_session: bool = False,
        ids: SessionIds | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.swapper = swapper
        self.max_sessions = max_sessions
        self.idle_s = idle_s
        self.max_connections = max_connections
        self.max_connections_per_session = max_connections_per_session
        self.require_session = require_session
        self.ids = ids or SessionIds.for_server(None, None)
        self._clock = clock
        self._sessions: dict[str, SwapSession] = {}
        self._last_used: dict[str, float] = {}
        self._connections: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.sync = SessionSync(store or MemoryStore(clock), idle_s, pinned=[DEFAULT_SESSION])
        self.sync.attach(DEFAULT_SESSION, swapper.default_session)

    def __len__(self) -> int:
        """Sessions alive now, the default one included."""
        with self._lock:
            self._expire_idle()
            return len(self._sessions) + 1

    @property
    def connections(self) -> int:
        return sum(self._connections.values())

    def held(self) -> list[tuple[str, SwapSession]]:
        """The sessions that streams hold now, with their ids."""
        with self._lock:
            return [
                (sid, self.swapper.default_session if sid == DEFAULT_SESSION else self._sessions[sid])
                for sid in self._connections
                if sid == DEFAULT_SESSION or sid in self._sessions
            ]

    def get(self, session_id: str | None) -> SwapSession:
        """The session for this id, created (or restored from the store) on first use; refreshes its idle clock."""
        session_id = self.check_id(session_id)
        if session_id == DEFAULT_SESSION:
            session = self.swapper.default_session
        else:
            with self._lock:
                self._expire_idle()
                session = self._sessions.get(session_id)
                if session is None:
                    if len(self._sessions) + 1 >= self.max_sessions:
                        raise TooManySessions(f"too many sessions ({self.max_sessions}); try again later")
                    session = self._sessions[session_id] = self.swapper.new_session()
                    self.sync.attach(session_id, session)
                self._last_used[session_id] = self._clock()
        self.sync.refresh(session_id, session)
        return session

    async def get_async(self, session_id: str | None) -> SwapSession:
        """`get` for request handlers: off the event loop when the store is remote, so a Redis round
        trip (or a restore that prepares faces again) never stalls the streams this process serves."""
        if not self.sync.store.shared:
            return self.get(session_id)
        return await asyncio.to_thread(self.get, session_id)

    async def change(self, change: Callable[..., T], *args: object) -> T:
        """Run a change to a session (which the session journals to the store) off the event loop when
        the store is remote: a Redis round trip must never stall the streams this process serves."""
        if not self.sync.store.shared:
            return change(*args)
        return await asyncio.to_thread(change, *args)

    def peek(self, session_id: str | None) -> SwapSession:
        """For reads: the session if it exists (here or in the shared store), else a blank one that is
        not kept, so no number of reads can fill the session table (nor, without an id where ids
        are required, make one up)."""
        if not session_id and self.require_session:
            return self.swapper.new_session()
        session_id = self.check_id(session_id)
        with self._lock:
            known = session_id == DEFAULT_SESSION or session_id in self._sessions
        if known or (self.sync.store.shared and self.sync.store.revision(session_id, None) is not None):
            return self.get(session_id)
        return self.swapper.new_session()

    async def peek_async(self, session_id: str | None) -> SwapSession:
        if not self.sync.store.shared:
            return self.peek(session_id)
        return await asyncio.to_thread(self.peek, session_id)

    @contextmanager
    def connect(self, session_id: str | None) -> Iterator[SwapSession]:
        """Hold a session for a WebSocket's lifetime, within the connection limits."""
        session_id = self.check_id(session_id)
        with self._lock:
            if self.connections >= self.max_connections:
                raise TooManyConnections(f"too many stream connections ({self.max_connections}); try again later")
            if self._connections[session_id] >= self.max_connections_per_session:
                raise TooManyConnections(
                    f"this session already has {self.max_connections_per_session} stream connection(s)"
                )
            self._connections[session_id] += 1
        try:
            yield self.get(session_id)
        finally:
            with self._lock:
                self._connections[session_id] -= 1
                if self._connections[session_id] <= 0:
                    del self._connections[session_id]
                if session_id in self._sessions:  # idle from now on (the default one never expires)
                    self._last_used[session_id] = self._clock()
            self.sync.touch([session_id])

    @asynccontextmanager
    async def connect_async(self, session_id: str | None) -> AsyncIterator[SwapSession]:
        """`connect` for the event loop: with a remote store, loading the session and the touch at the
        end (Redis round trips) run on a thread, so opening or closing a stream never stalls the others."""
        held = self.connect(session_id)
        if not self.sync.store.shared:
            with held as session:
                yield session
            return
        session = await asyncio.to_thread(held.__enter__)
        try:
            yield session
        finally:
            await asyncio.to_thread(held.__exit__, None, None, None)

    def check_id(self, session_id: str | None) -> str:
        """The session id to use for this request (`default` for none), refused when malformed or required."""
        session_id = check_session_id(session_id)
        if not self.require_session:
            return session_id
        if session_id == DEFAULT_SESSION:
            raise SessionRequired(
                "this server needs a session of your own: POST /sessions, then send the id as X-Session-Id "
                "(REST) or ?session= (WebSocket, EventSource)"
            )
        if not self.ids.issued(session_id):
            raise SessionNotIssued("this session id was not issued by this server: get one from POST /sessions")
        return session_id

    def _expire_idle(self) -> None:
        cutoff = self._clock() - self.idle_s
        for session_id in [sid for sid, used in self._last_used.items() if used < cutoff]:
            if not self._connections[session_id]:
                self._sessions.pop(session_id, None)
                del self._last_used[session_id]
                self.sync.forget(session_id)


def named_session(scope: Scope) -> str:
    """The session id a request names, unchecked (`X-Session-Id`, or `?session=` for WebSocket and
    EventSource); `default` for none. For middleware, which runs before the routes check it."""
    return Headers(scope=scope).get("x-session-id") or QueryParams(scope.get("query_string", b"")).get("session") or DEFAULT_SESSION


def check_session_id(session_id: str | None) -> str:
    if session_id is None or session_id == "":
        return DEFAULT_SESSION
    if not SESSION_ID.fullmatch(session_id):
        raise BadSessionId("the session id must be 1-64 letters, digits, '.', '_' or '-'")
    return session_id


def open_store(redis_url: str | None) -> SessionStore:
    """Redis when a URL is configured (needs the `redis` extra), else the in-memory store."""
    if not redis_url:
        return MemoryStore()
    from plasticvision.server.sessions.redis_store import RedisStore  # only with the `redis` extra installed

    return RedisStore(redis_url)
