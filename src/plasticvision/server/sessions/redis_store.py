"""`RedisStore`: sessions in Redis, one hash per session, so any replica finds any user's faces.

Layout: `plasticvision:session:<id>` is a hash of `rev` (bumped by every write) and `f:<field>`
(bytes); its TTL is the idle timeout, pushed forward by every write and touch. A write is one
MULTI/EXEC transaction, with short timeouts and no retries. When Redis cannot be reached, every
call raises StoreUnavailable at once for `RETRY_S` before trying again, so a dead Redis costs a
request one timeout at most, not one per call, and the server notices by itself when it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import redis

from plasticvision.server.sessions.store import StoredSession, StoreUnavailable, WriteResult

log = logging.getLogger(__name__)

KEY_PREFIX = "plasticvision:session:"
FIELD_PREFIX = b"f:"
REVISION = b"rev"
CONNECT_TIMEOUT_S = 0.25  # a Redis on the same network answers in a millisecond; a partition must not
TIMEOUT_S = 0.5  # stall the caller for long (most calls already run off the event loop)
RETRY_S = 1.0
T = TypeVar("T")


class RedisStore:
    name = "redis"
    shared = True

    def __init__(self, url: str, *, timeout_s: float = TIMEOUT_S, retry_s: float = RETRY_S) -> None:
        self.url = url
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=min(timeout_s, CONNECT_TIMEOUT_S), retry_on_timeout=False
        )
        self._retry_s = retry_s
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def up(self) -> bool:
        """False while the last call failed less than `retry_s` ago."""
        return time.monotonic() >= self._down_until

    def _call(self, action: Callable[[redis.Redis], T]) -> T:
        if not self.up:
            raise StoreUnavailable("the session store (Redis) is unavailable; try again shortly")
        try:
            result = action(self._client)
        except redis.RedisError as exc:
            with self._lock:
                if self.up:
                    log.warning("session store (Redis at %s) unavailable: %s", redact(self.url), exc)
                self._down_until = time.monotonic() + self._retry_s
            raise StoreUnavailable("the session store (Redis) is unavailable; try again shortly") from exc
        if self._down_until:
            with self._lock:
                if self._down_until:
                    log.info("session store (Redis) is back")
                    self._down_until = 0.0
        return result

    def load(self, session_id: str) -> StoredSession | None:
        raw = self._call(lambda client: client.hgetall(key(session_id)))
        if not raw or REVISION not in raw:
            return None
        fields = {name[len(FIELD_PREFIX) :].decode(): value for name, value in raw.items() if name.startswith(FIELD_PREFIX)}
        return StoredSession(int(raw[REVISION]), fields)

    def revision(self, session_id: str, ttl_s: float | None) -> int | None:
        def read(client: redis.Redis) -> int | None:
            with client.pipeline(transaction=True) as pipe:
                pipe.hget(key(session_id), REVISION)
                expire(pipe, session_id, ttl_s)
                value, _ = pipe.execute()
            return None if value is None else int(value)

        return self._call(read)

    def write(
        self, session_id: str, fields: Mapping[str, bytes | None], ttl_s: float | None, *, fill: Mapping[str, bytes] = {}
    ) -> WriteResult:
        name = key(session_id)

        def run(client: redis.Redis) -> WriteResult:
            with client.pipeline(transaction=True) as pipe:
                pipe.exists(name)
                for field, value in fill.items():
                    pipe.hsetnx(name, FIELD_PREFIX + field.encode(), value)
                changed = {FIELD_PREFIX + f.encode(): v for f, v in fields.items() if v is not None}
                if changed:
                    pipe.hset(name, mapping=changed)  # type: ignore[arg-type]
                removed = [FIELD_PREFIX + f.encode() for f, v in fields.items() if v is None]
                if removed:
                    pipe.hdel(name, *removed)
                pipe.hincrby(name, REVISION, 1)
                expire(pipe, session_id, ttl_s)
                results = pipe.execute()
            return WriteResult(int(results[-2]), bool(results[0]))

        return self._call(run)

    def touch(self, session_ids: Iterable[str], ttl_s: float) -> None:
        ids = list(session_ids)
        if not ids:
            return

        def run(client: redis.Redis) -> None:
            with client.pipeline(transaction=False) as pipe:
                for session_id in ids:
                    pipe.pexpire(key(session_id), milliseconds(ttl_s))
                pipe.execute()

        self._call(run)

    def delete(self, session_id: str) -> None:
        self._call(lambda client: client.delete(key(session_id)))

    def close(self) -> None:
        self._client.close()


def key(session_id: str) -> str:
    return KEY_PREFIX + session_id


def milliseconds(ttl_s: float) -> int:
    return max(int(ttl_s * 1000), 1)


def expire(pipe: redis.client.Pipeline, session_id: str, ttl_s: float | None) -> None:
    """The idle expiry from now; None keeps the session until deleted."""
    if ttl_s is None:
        pipe.persist(key(session_id))
    else:
        pipe.pexpire(key(session_id), milliseconds(ttl_s))


def redact(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    return f"{scheme}{sep}***@{rest.split('@', 1)[1]}"
