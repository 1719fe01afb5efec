"""How long a request body may keep the connection: a minimum rate over a sliding window, and a deadline.

A pure state machine (the caller passes the clock's readings), so the rule is tested without
sockets. The rate is the bytes of the last `window_s` seconds, not the average since the start:
a body sent fast and then dripped a byte a minute is cut off one window after the drip began,
where a whole-request average would keep it alive for days. The first `grace_s` seconds are
free (a slow start, TCP ramp-up), and no body may take longer than `deadline_s`, however fast.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PaceRule:
    min_bytes_per_s: float
    window_s: float
    grace_s: float
    deadline_s: float

    def __post_init__(self) -> None:
        if min(self.min_bytes_per_s, self.window_s, self.grace_s, self.deadline_s) <= 0:
            raise ValueError(f"every pace limit must be positive: {self}")


class BodyPace:
    """One request body: feed it each chunk's arrival; ask it when the next byte must have come."""

    def __init__(self, rule: PaceRule, started: float) -> None:
        self.rule = rule
        self.started = started
        self._recent: deque[tuple[float, int]] = deque()  # (arrival, bytes) within the window

    def received(self, now: float, size: int) -> None:
        self._recent.append((now, size))
        while self._recent and self._recent[0][0] <= now - self.rule.window_s:
            self._recent.popleft()

    def next_due(self) -> float:
        """The moment the body breaks the rule if nothing more arrives: when the window's bytes
        fall under the minimum (never before the grace time ends), or the deadline if sooner."""
        rule = self.rule
        needed = rule.min_bytes_per_s * rule.window_s
        remaining = sum(size for _, size in self._recent)
        falls_short = self.started
        for arrival, size in self._recent:  # oldest first: each leaves the window window_s after it came
            if remaining < needed:
                break
            falls_short = arrival + rule.window_s
            remaining -= size
        return min(max(falls_short, self.started + rule.grace_s), self.started + rule.deadline_s)

    def past_deadline(self, now: float) -> bool:
        return now >= self.started + self.rule.deadline_s
