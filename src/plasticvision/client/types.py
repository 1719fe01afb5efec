"""What the live client hands out: replies, statistics, and its bookkeeping of frames in flight."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class StreamReply:
    seq: int
    frame: np.ndarray  # BGR
    capture_time: float  # seconds, as given to `send` (time.monotonic by default)
    server_ms: float  # receipt to send, on the server
    latency_ms: float  # capture to hand-out by `receive`
    work_ms: float = 0.0  # decode + swap + encode on the server


@dataclass(frozen=True, slots=True)
class StreamStats:
    fps: float  # replies handed out per second, recently
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    dropped: int  # frames sent that were never shown: dropped by the server, or overtaken here
    skipped: int  # frames `send` refused (window full or socket busy)
    in_flight: int
    window: int  # frames the pacer keeps in flight now
    jpeg_quality: int
    width: int
    height: int
    frame_bytes: int  # the last frame sent
    sent: int
    received: int
    errors: int
    server_ms: float  # smoothed
    network_ms: float  # lowest recent round trip on the wire
    link_limited: bool
    message: str | None  # e.g. "network limited: 6.0 Mbit/s, sending at q50 640×480"


@dataclass(slots=True)
class Pending:
    sent_ms: float
    size: int


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]
