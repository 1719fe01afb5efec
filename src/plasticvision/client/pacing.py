"""How many frames a live client keeps in flight, and at what JPEG quality and size it sends them.

The same rules run in the Python client (`plasticvision.client`) and the page
(`web/js/pacing.js`); `tests/client/test_pacing.py` checks both against the same scenarios.

* **Frames in flight**: enough to cover the path's round trip and the server's time at the rate
  frames can be had, `ceil((base network ms + server ms) / interval) + 1`, between 3 and the cap.
  The interval is the camera's, or the server's own between swapped replies when it is slower
  (more frames in flight would only be dropped by its latest-frame-wins). The base is the
  *lowest* recent network time, so frames queued in a slow link never widen the window that
  queues them.
* **Link limits**: network time (reply arrival - send - server ms) above the base means frames
  wait in a queue somewhere on the path. When even the *lowest* network time of the last half
  second is `QUEUE_MS` above the base, a queue stands in the link (a busy CPU only delays some
  frames, a full link delays them all), and the pacer steps down the ladder: JPEG quality first, then the width (never
  below 320 px). When the queue has been empty for a while it steps back up; a step up that
  soon had to be undone doubles the wait before the next one, so it settles instead of
  oscillating.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

# (max width, JPEG quality), best first: quality drops before resolution does
LADDER: tuple[tuple[int, int], ...] = ((640, 70), (640, 60), (640, 50), (640, 42), (480, 42), (320, 42))
MIN_IN_FLIGHT = 3  # one more than a fast server needs: room for its hiccups
QUEUE_MS = 30.0  # wait in the path's queues that counts as "the link is the bottleneck"
CLEAR_MS = 10.0  # ... and below which the link has room again
RECENT_MS = 500.0  # the window the queue delay is judged on
BASE_WINDOW_MS = 30_000.0  # how long a lowest network time is remembered
DOWN_HOLD_MS = 250.0  # at least this long between two steps down
UP_WAIT_MS = 2_000.0  # a clear link for this long earns a step up ...
MAX_UP_WAIT_MS = 30_000.0  # ... doubling (up to here) each time a step up had to be undone
UNDO_MS = 5_000.0  # a step down this soon after a step up undoes it
RATE_WINDOW_MS = 1_000.0
MIN_SAMPLES = 3


@dataclass(frozen=True, slots=True)
class Level:
    width: int
    quality: int
    reply_quality: int  # asked of the server, so replies fit the same link


def level_at(index: int) -> Level:
    width, quality = LADDER[index]
    return Level(width, quality, min(80, quality + 10))


class Pacer:
    """Feed it sends and replies (with a clock in ms); read `window` and `level`."""

    def __init__(self, frame_interval_ms: float = 1000 / 30, max_in_flight: int = 8) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.frame_interval_ms = frame_interval_ms
        self.max_in_flight = max_in_flight
        self.index = 0
        self.network: deque[tuple[float, float, float]] = deque()  # (arrival ms, network ms, sent ms)
        self.delivered: deque[tuple[float, int, int]] = deque()  # (arrival ms, frame bytes, reply bytes)
        self.swapped: deque[float] = deque()  # arrival ms of swapped (not dropped) replies
        self.server_ms = 0.0
        self.last_change_ms = -math.inf
        self.last_up_ms = -math.inf
        self.up_wait_ms = UP_WAIT_MS

    @property
    def level(self) -> Level:
        return level_at(self.index)

    @property
    def link_limited(self) -> bool:
        """True while the link, not the camera or the server, sets what is sent."""
        return self.index > 0

    @property
    def window(self) -> int:
        """Frames to keep in flight now."""
        if not self.network:
            return min(MIN_IN_FLIGHT, self.max_in_flight)
        needed = math.ceil((self.base_ms + self.server_ms) / self.reply_interval_ms) + 1
        return max(min(MIN_IN_FLIGHT, self.max_in_flight), min(needed, self.max_in_flight))

    @property
    def reply_interval_ms(self) -> float:
        """Mean time between swapped replies over the last second, never less than the camera's."""
        if len(self.swapped) < MIN_SAMPLES:
            return self.frame_interval_ms
        return max(self.frame_interval_ms, (self.swapped[-1] - self.swapped[0]) / (len(self.swapped) - 1))

    @property
    def base_ms(self) -> float:
        return min(entry[1] for entry in self.network) if self.network else 0.0

    def link_mbps(self, now_ms: float) -> float:
        """Megabits per second the busier direction delivered over the last second."""
        self.forget(now_ms)
        up = sum(entry[1] for entry in self.delivered)
        down = sum(entry[2] for entry in self.delivered)
        return max(up, down) * 8 / (RATE_WINDOW_MS * 1000)

    def on_reply(
        self, now_ms: float, sent_ms: float, server_ms: float, frame_bytes: int, reply_bytes: int, swapped: bool = True
    ) -> None:
        """A reply (`swapped`) or a dropped-frame notice arrived for a frame sent at `sent_ms`."""
        self.network.append((now_ms, max(0.0, now_ms - sent_ms - server_ms), sent_ms))
        self.delivered.append((now_ms, frame_bytes, reply_bytes))
        if swapped:  # a dropped frame's server time says nothing about how long a swap takes
            self.server_ms = server_ms if not self.swapped else self.server_ms + 0.2 * (server_ms - self.server_ms)
            self.swapped.append(now_ms)
        self.forget(now_ms)
        self.adapt(now_ms)

    def queue_ms(self, now_ms: float) -> float | None:
        """Lowest recent network time above the base: how long every frame waits in the path's queues.

        Only frames sent since the last change count (None until there are a few): the ones
        sent before it tell about the old level, and would make the pacer overshoot.
        """
        recent = [ms for at, ms, sent in self.network if at >= now_ms - RECENT_MS and sent >= self.last_change_ms]
        return min(recent) - self.base_ms if len(recent) >= MIN_SAMPLES else None

    def adapt(self, now_ms: float) -> None:
        since_change = now_ms - self.last_change_ms
        queue = self.queue_ms(now_ms)
        if queue is None:
            return
        if queue > QUEUE_MS and since_change >= DOWN_HOLD_MS and self.index < len(LADDER) - 1:
            if now_ms - self.last_up_ms < UNDO_MS:
                self.up_wait_ms = min(2 * self.up_wait_ms, MAX_UP_WAIT_MS)
            self.index += 1
            self.last_change_ms = now_ms
        elif queue < CLEAR_MS and since_change >= self.up_wait_ms and self.index > 0:
            self.index -= 1
            self.last_change_ms = self.last_up_ms = now_ms

    def forget(self, now_ms: float) -> None:
        while self.network and self.network[0][0] < now_ms - BASE_WINDOW_MS:
            self.network.popleft()
        while self.delivered and self.delivered[0][0] < now_ms - RATE_WINDOW_MS:
            self.delivered.popleft()
        while self.swapped and self.swapped[0] < now_ms - RATE_WINDOW_MS:
            self.swapped.popleft()


def describe(pacer: Pacer, now_ms: float, height: int) -> str:
    """The user's one line when the link is the bottleneck, e.g. `network limited: 6.0 Mbit/s, sending at q50 640×480`."""
    level = pacer.level
    return f"network limited: {pacer.link_mbps(now_ms):.1f} Mbit/s, sending at q{level.quality} {level.width}×{height}"
