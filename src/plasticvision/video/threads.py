"""Overlap decoding, swapping and encoding: the decoder runs ahead and the encoder behind, each on
a thread of its own, so a frame's swap does not wait for its neighbours' codec work.

PyAV releases the GIL while FFmpeg decodes, converts and encodes, so on two cores this hides
most of the codec time. Each container is touched by one thread only: the reader's by the
decode thread, the writer's by the encode thread (audio packets are handed to it too).
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Generic, TypeVar
from collections.abc import Callable, Iterator

T = TypeVar("T")
DEPTH = 8  # frames in flight per queue: enough to absorb jitter, small enough for 4K frames
_END = object()
TICK_S = 0.1  # how often a blocked thread checks whether it was told to stop


class ThreadFailed(Exception):
    """Carries an exception out of a helper thread (re-raised as its cause)."""


def _put(items: queue.Queue, item: Any, stop: threading.Event) -> bool:
    """Put, giving up when `stop` is set; False means the consumer has gone."""
    while not stop.is_set():
        try:
            items.put(item, timeout=TICK_S)
            return True
        except queue.Full:
            continue
    return False


class RunAhead(Generic[T]):
    """Iterates `make()` on its own thread, up to DEPTH items ahead of the consumer."""

    def __init__(self, make: Callable[[], Iterator[T]]) -> None:
        self._items: queue.Queue = queue.Queue(DEPTH)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(make,), name="video-decode", daemon=True)
        self._thread.start()

    def _produce(self, make: Callable[[], Iterator[T]]) -> None:
        try:
            for item in make():
                if not _put(self._items, item, self._stop):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            _put(self._items, ThreadFailed(exc), self._stop)
            return
        _put(self._items, _END, self._stop)

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._items.get()
            if item is _END:
                return
            if isinstance(item, ThreadFailed):
                raise item.args[0]
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class RunBehind:
    """Runs calls in submission order on its own thread; its first failure is raised by the next
    `submit` or by `finish`, and later calls are skipped."""

    def __init__(self) -> None:
        self._calls: queue.Queue = queue.Queue(DEPTH)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._consume, name="video-encode", daemon=True)
        self._thread.start()

    def _consume(self) -> None:
        while not self._stop.is_set():
            try:
                call = self._calls.get(timeout=TICK_S)
            except queue.Empty:
                continue
            if call is _END:
                return
            if self._error is None:
                try:
                    call()
                except BaseException as exc:
                    self._error = exc

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        self._raise_error()
        _put(self._calls, lambda: fn(*args), self._stop)

    def finish(self) -> None:
        """Wait for every submitted call; raise the first failure."""
        _put(self._calls, _END, self._stop)
        self._thread.join()
        self._raise_error()

    def close(self) -> None:
        """Stop without running what is still queued."""
        self._stop.set()
        self._thread.join()
