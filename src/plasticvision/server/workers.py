"""The thread pool that runs CPU work (decode, swap, encode) off the event loop.

One pool sized to the cores, shared by REST and the stream: more threads than cores
would only make every frame slower, and the event loop must stay free to receive. Work
waits for a free thread in `slot()` (first come, first served) rather than in the pool's
queue, so a stream can pick its newest frame at the moment a thread is free for it.
OpenCV is told to stop spawning its own threads: with the pool already one thread per
core, its extra threads only fight the pool (about 20% slower swaps on two cores).
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar
from collections.abc import Callable

import cv2

T = TypeVar("T")


class Workers:
    def __init__(self, size: int = 0) -> None:
        cv2.setNumThreads(1)
        self.size = size or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(self.size, thread_name_prefix="plasticvision-worker")
        self._free = asyncio.Semaphore(self.size)
        self.busy = 0  # threads running work now (read by the metrics); changed on the event loop only

    def slot(self) -> asyncio.Semaphore:
        """`async with workers.slot():` holds one thread; then `execute` runs on it."""
        return self._free

    async def execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn` on the pool; call it while holding a `slot()`."""
        self.busy += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, partial(fn, *args, **kwargs))
        finally:
            self.busy -= 1

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Wait for a free thread, run `fn` on it and return its result."""
        async with self._free:
            return await self.execute(fn, *args, **kwargs)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
