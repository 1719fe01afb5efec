"""Latest frame wins: the one loop that both live paths (WebSocket and WebRTC) swap frames with.

A live stream must never queue decoded frames: when swapping is slower than the camera, a queue
only adds its length to every frame's delay. `NewestFrame` holds one frame, the newest not yet
taken; a frame offered while another waits replaces it (the caller counts it dropped).
`process_newest` is a processor: it takes the newest frame only once a worker thread is free for
it (taking it earlier would let it go stale while it waits), works on it holding the thread,
and delivers the result after letting the thread go. With several processors, results can
finish out of order; `NewestFrame.first_to_show` says whether a result is still the newest
shown, so one overtaken by a newer frame's result is dropped, never shown late.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class NewestFrame(Generic[T]):
    """One slot for the newest frame, and the order number of the newest result shown."""

    def __init__(self) -> None:
        self.frame: T | None = None
        self.ready = asyncio.Event()
        self.shown = 0

    def offer(self, frame: T) -> T | None:
        """Make `frame` the next to process; returns the frame it replaced, which will not be processed."""
        replaced, self.frame = self.frame, frame
        self.ready.set()
        return replaced

    def discard(self) -> T | None:
        """Forget the waiting frame (a newer one is known to be unusable); returns it."""
        dropped, self.frame = self.frame, None
        self.ready.clear()
        return dropped

    def take(self) -> T | None:
        """The waiting frame, now out of the slot; None when another processor took it first."""
        frame, self.frame = self.frame, None
        self.ready.clear()
        return frame

    def first_to_show(self, number: int) -> bool:
        """True (and `number` is now the newest shown) unless a result of a newer frame was shown already."""
        if number <= self.shown:
            return False
        self.shown = number
        return True


async def process_newest(
    frames: NewestFrame[T],
    slot: Callable[[], AbstractAsyncContextManager[object]],
    work: Callable[[T], Awaitable[R | None]],
    deliver: Callable[[T, R], Awaitable[None]],
) -> None:
    """Forever: the newest frame, once `slot()` is held, through `work` (None: nothing to deliver), then `deliver`."""
    while True:
        await frames.ready.wait()
        async with slot():
            frame = frames.take()
            if frame is None:
                continue
            result = await work(frame)
        if result is not None:
            await deliver(frame, result)
