"""Per-client budgets: how many sessions one address may be issued, and streams and event followers it may hold.

The global limits (sessions, connections) keep the server alive; these keep one client from
taking all of them, so a script that opens a thousand sessions or streams locks out only
itself. The client is its address (behind a proxy, the one the proxy forwards: uvicorn's
`--forwarded-allow-ips`). Issued sessions count for the idle time a session lives; held slots
count while the stream or event stream is open.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from starlette.requests import HTTPConnection

from plasticvision.config import ServerConfig
from plasticvision.errors import PlasticVisionError

STREAM, FOLLOWER = "live streams", "event streams"


class ClientLimitReached(PlasticVisionError):
    """One address holds as many sessions, live streams or event streams as it may (new ids do not reset it)."""

    type = "client_limit_reached"


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


class ClientLimits:
    def __init__(self, config: ServerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.session_limit = config.max_sessions_per_client
        self.session_life_s = config.session_idle_s
        self.slot_limits = {STREAM: config.max_streams_per_client, FOLLOWER: config.max_followers_per_client}
        self._clock = clock
        self._issued: dict[str, deque[float]] = {}
        self._held: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def admit_session(self, client: str) -> None:
        """Count one more session issued to `client`, or refuse when it has its share alive."""
        now = self._clock()
        with self._lock:
            issued = self._issued.setdefault(client, deque())
            while issued and issued[0] <= now - self.session_life_s:
                issued.popleft()
            if len(issued) >= self.session_limit:
                raise ClientLimitReached(
                    f"this address already has {self.session_limit} sessions; reuse one (they last "
                    f"{self.session_life_s:g} s idle)"
                )
            issued.append(now)
            for other in [c for c, times in self._issued.items() if not times]:
                del self._issued[other]

    @contextmanager
    def hold(self, kind: str, client: str) -> Iterator[None]:
        """One of `client`'s `kind` slots (STREAM, FOLLOWER) for as long as the block runs."""
        key, limit = (kind, client), self.slot_limits[kind]
        with self._lock:
            if self._held[key] >= limit:
                raise ClientLimitReached(f"this address already has {limit} {kind} open; close one first")
            self._held[key] += 1
        try:
            yield
        finally:
            with self._lock:
                self._held[key] -= 1
                if self._held[key] <= 0:
                    del self._held[key]
