"""A job's progress events in order, for any number of SSE followers, late ones included.

The producer is a worker thread and the followers are on the event loop, so followers poll
a sequence number instead of parking a thread each: a follower that disconnects costs
nothing, and one that connects late replays every event from the first.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any
from collections.abc import AsyncIterator

POLL_S = 0.1


@dataclass(frozen=True)
class JobEvent:
    """One SSE event: `name` is "queued", "progress", or the final "done" / "failed" / "cancelled"."""

    seq: int
    name: str
    data: dict[str, Any]


class JobFeed:
    def __init__(self) -> None:
        self._events: list[JobEvent] = []
        self._closed = False
        self._lock = threading.Lock()

    def publish(self, name: str, data: dict[str, Any], *, final: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            self._events.append(JobEvent(len(self._events), name, data))
            self._closed = final

    @property
    def closed(self) -> bool:
        return self._closed

    def since(self, seq: int) -> tuple[list[JobEvent], bool]:
        """Events from number `seq` on, and whether the feed is closed (no more will come)."""
        with self._lock:
            return self._events[seq:], self._closed

    async def follow(self) -> AsyncIterator[JobEvent]:
        """Every event from the first, then new ones as they come, until the final one."""
        seen = 0
        while True:
            events, closed = self.since(seen)
            for event in events:
                yield event
            seen += len(events)
            if closed and not events:
                return
            if not events:
                await asyncio.sleep(POLL_S)
