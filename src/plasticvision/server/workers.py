"""The thread pool that runs CPU work (decode, swap, encode) off the event loop.

One pool sized to the cores, shared by REST and the stream: more threads than cores
would only make every frame slower, and the event loop must stay free to receive.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class Workers:
    """`await workers.run(fn, *args)` runs `fn` on the pool and returns its result."""

    def __init__(self, size: int = 0) -> None:
        self.size = size or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(self.size, thread_name_prefix="plasticvision-worker")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(fn, *args, **kwargs))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
