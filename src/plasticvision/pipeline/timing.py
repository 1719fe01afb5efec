"""Per-stage wall-clock timings, cheap enough for the hot path."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from statistics import median
from collections.abc import Callable, Iterator


class StageTimer:
    """Accumulates milliseconds per named stage for one frame."""

    __slots__ = ("ms",)

    def __init__(self) -> None:
        self.ms: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] += (time.perf_counter() - start) * 1000.0

    def total(self) -> float:
        return sum(self.ms.values())


class TimingStats:
    """Rolling per-stage medians over the last `window` frames, shared across threads.

    `listeners` hear every frame's timings too (the server's metrics histograms).
    """

    def __init__(self, window: int = 120) -> None:
        self._lock = threading.Lock()
        self._samples: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=window))
        self.listeners: list[Callable[[dict[str, float]], None]] = []

    def add(self, ms: dict[str, float]) -> None:
        for listener in self.listeners:
            listener(ms)
        with self._lock:
            for name, value in ms.items():
                self._samples[name].append(value)
            self._samples["total"].append(sum(ms.values()))

    def medians(self) -> dict[str, float]:
        with self._lock:
            return {name: round(median(values), 2) for name, values in self._samples.items() if values}
