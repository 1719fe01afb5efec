"""Per-client rate limits on the expensive routes (uploads and swaps): a token bucket per address.

`PLASTICVISION_RATE_LIMIT` is `N/second`, `N/minute` or `N/hour`; a client may burst up to N
requests, then gets one more every period/N, and a refused request gets 429 with
`Retry-After` (whole seconds until its next token). Behind a reverse proxy the address is
the one the proxy forwards (uvicorn's `--forwarded-allow-ips`). Buckets live in the app's
state, not the module, and full ones are forgotten so the table stays small.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends
from starlette.requests import HTTPConnection

from plasticvision.errors import PlasticVisionError

PERIODS_S = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
PRUNE_EVERY = 1024  # requests between two sweeps of the buckets that have refilled


class RateLimited(PlasticVisionError):
    type = "rate_limited"

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))}


@dataclass(frozen=True)
class RateLimit:
    requests: int
    period_s: float

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """'30/minute' -> 30 requests per 60 s (the config's pattern has already checked the form)."""
        count, _, period = text.partition("/")
        return cls(int(count), PERIODS_S[period])


class RateLimiter:
    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, when counted)
        self._lock = threading.Lock()
        self._seen = 0

    @property
    def refill_per_s(self) -> float:
        return self.limit.requests / self.limit.period_s

    def hit(self, client: str) -> None:
        """Take a token for `client` or raise RateLimited saying when the next one comes."""
        now = self._clock()
        with self._lock:
            tokens = self._tokens(client, now)
            if tokens < 1:
                self._buckets[client] = (tokens, now)
                wait_s = (1 - tokens) / self.refill_per_s
                raise RateLimited(
                    f"too many requests from {client}: the limit is {self.limit.requests} per "
                    f"{self.limit.period_s:g} s; try again in {math.ceil(wait_s)} s",
                    wait_s,
                )
            self._buckets[client] = (tokens - 1, now)
            self._seen += 1
            if self._seen % PRUNE_EVERY == 0:
                self._prune(now)

    def _tokens(self, client: str, now: float) -> float:
        tokens, counted = self._buckets.get(client, (float(self.limit.requests), now))
        return min(float(self.limit.requests), tokens + (now - counted) * self.refill_per_s)

    def _prune(self, now: float) -> None:
        full = [c for c in self._buckets if self._tokens(c, now) >= self.limit.requests]
        for client in full:
            del self._buckets[client]


async def rate_limited(connection: HTTPConnection) -> None:
    """The dependency: a no-op unless the server has a rate limit."""
    limiter: RateLimiter | None = getattr(connection.app.state, "rate_limiter", None)
    if limiter is not None:
        limiter.hit(connection.client.host if connection.client else "unknown")


RateLimitDep = Depends(rate_limited)
