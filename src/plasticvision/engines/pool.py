"""`EnginePool`: one engine replica per device, and which replica takes the next piece of work.

Replicas share nothing mutable: each has its own engine (its own models, on its own device).
A live stream is attached to the replica with the fewest streams when it connects and stays
there (its tracker and the device's caches stay warm); one-off work (an image swap, a
detection, a video chunk) goes to the least busy replica at that moment. Sessions never see
this: sources are plain data that any replica of the same engine kind can render.

A replica whose engine raises an unexpected error keeps serving (the error is counted, shown
in `/status`, and reported to the caller as DeviceFailed, 503); one-off work that failed that
way is retried once on another replica, so one broken device does not fail requests the
others could answer. Streams on other devices never notice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from plasticvision.engines.base import Engine
from plasticvision.engines.devices import Device
from plasticvision.engines.select import choose_engine
from plasticvision.errors import PlasticVisionError
from plasticvision.models.store import ModelStore

log = logging.getLogger(__name__)

T = TypeVar("T")
WINDOW_S = 10.0  # frames/s and busy share are measured over this many recent seconds


class DeviceFailed(PlasticVisionError):
    """An engine raised something that is not the request's fault: a device or driver problem."""

    type = "device_failed"


@dataclass
class Replica:
    """One device's engine and its load: attached streams, work in flight, recent frames and busy time."""

    device: Device
    engine: Engine
    streams: int = 0
    active: int = 0
    frames: int = 0
    errors: int = 0
    last_error: str | None = None
    recent: deque[tuple[float, float]] = field(default_factory=deque)  # (ended, seconds) per unit of work
    lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def work(self, started: float | None = None) -> Iterator[Engine]:
        """Hold the replica for one frame (or image) of work; its time counts towards the busy share.

        An unexpected exception from the engine becomes DeviceFailed (503): the device's fault,
        counted here, while a request's own fault (no face, bad image) passes through unchanged.
        """
        started = self.begin() if started is None else started
        failure: Exception | None = None
        try:
            yield self.engine
        except PlasticVisionError:
            raise
        except Exception as exc:
            failure = exc
            raise DeviceFailed(f"the engine on {self.device.label} failed ({type(exc).__name__}: {exc})") from exc
        finally:
            self.end(started, failure)

    @contextmanager
    def attached(self) -> Iterator[Replica]:
        """Count a stream (or a video chunk) on this replica while it lasts."""
        with self.lock:
            self.streams += 1
        try:
            yield self
        finally:
            with self.lock:
                self.streams -= 1

    def begin(self) -> float:
        with self.lock:
            self.active += 1
        return time.monotonic()

    def end(self, started: float, failure: Exception | None) -> None:
        ended = time.monotonic()
        with self.lock:
            self.active -= 1
            self.frames += 1
            self.recent.append((ended, ended - started))
            self._forget(ended)
            if failure is not None:
                self.errors += 1
                self.last_error = f"{type(failure).__name__}: {failure}"
        if failure is not None:
            log.warning("engine on %s failed: %s", self.device.label, self.last_error)

    def _forget(self, now: float) -> None:
        while self.recent and self.recent[0][0] < now - WINDOW_S:
            self.recent.popleft()

    def load(self) -> tuple[int, float, int]:
        """Sort key for one-off work: work in flight first, then recent busy time, then streams."""
        with self.lock:
            self._forget(time.monotonic())
            return (self.active, sum(seconds for _, seconds in self.recent), self.streams)

    def status(self) -> dict[str, Any]:
        """What `/status` shows per device; frames/s and busy share are over the last WINDOW_S seconds."""
        info = self.engine.info()
        with self.lock:
            self._forget(time.monotonic())
            busy = sum(seconds for _, seconds in self.recent)
            return {
                "device": self.device.label,
                "engine": self.engine.name,
                "provider": (info.get("providers") or ["unknown"])[0],
                "streams": self.streams,
                "active": self.active,
                "frames": self.frames,
                "fps": round(len(self.recent) / WINDOW_S, 2),
                "busy": round(min(busy / WINDOW_S, 1.0), 3),
                "errors": self.errors,
                "last_error": self.last_error,
            }


class EnginePool:
    """Replicas in device order; the first one's engine is the pool's face to sessions and `/status`."""

    def __init__(self, replicas: Sequence[Replica]) -> None:
        if not replicas:
            raise ValueError("an engine pool needs at least one replica")
        self.replicas = list(replicas)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, name: str, devices: Sequence[Device], store: ModelStore) -> tuple[EnginePool, str]:
        """One engine per device: the first chosen by name (`auto` decides there), the rest of the same kind."""
        first, reason = choose_engine(name, store, devices[0])
        replicas = [Replica(devices[0], first)]
        for device in devices[1:]:
            replicas.append(Replica(device, choose_engine(first.name, store, device)[0]))
        if len(devices) > 1:
            reason += f"; {len(devices)} replicas on {', '.join(d.label for d in devices)}"
        return cls(replicas), reason

    @property
    def engine(self) -> Engine:
        return self.replicas[0].engine

    @contextmanager
    def attach(self) -> Iterator[Replica]:
        """A replica for a live stream for as long as it lasts: the one with the fewest streams, then the least busy."""
        with ExitStack() as stack:
            with self._lock:  # choose and count in one step, so two streams connecting at once spread out
                replica = min(self.replicas, key=lambda r: (r.streams, r.load()))
                stack.enter_context(replica.attached())
            yield replica

    def least_busy(self, exclude: Replica | None = None) -> Replica:
        candidates = [r for r in self.replicas if r is not exclude] or self.replicas
        return min(candidates, key=lambda r: (r.load(), r.errors))

    def run(self, work: Callable[[Engine], T]) -> T:
        """`work(engine)` on the least busy replica; a device failure there is retried once on another."""
        with self._lock:  # choose and mark busy in one step, so simultaneous requests spread out
            replica = self.least_busy()
            started = replica.begin()
        try:
            with replica.work(started) as engine:
                return work(engine)
        except DeviceFailed:
            if len(self.replicas) == 1:
                raise
            log.warning("retrying on another device after %s failed", replica.device.label)
        with self.least_busy(exclude=replica).work() as engine:
            return work(engine)

    def status(self) -> list[dict[str, Any]]:
        return [replica.status() for replica in self.replicas]
