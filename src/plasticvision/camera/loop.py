"""The camera loop: source -> swapper -> sink until the source ends, the sink closes or Ctrl-C,
with fps, latency and dropped frames on one updating terminal line.

Ctrl-C and SIGTERM are the normal way to stop a camera, so they end the loop between two
frames instead of interrupting it: the output file is finished (not deleted) and the
totals printed. A camera unplugged or a server gone mid-stream also keeps what was
recorded before the error is raised; any other failure leaves no partial file.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from plasticvision.camera.frames import CameraFrame, FrameSink, FrameSource, StreamSwapper
from plasticvision.errors import PlasticVisionError

STATUS_INTERVAL_S = 0.5
WINDOW_S = 2.0  # fps and latency percentiles over the last two seconds


@dataclass(frozen=True)
class StreamTotals:
    frames_in: int  # frames the source produced (including the ones it dropped)
    frames_out: int  # frames written to the sink
    dropped: int  # frames that never reached the sink
    fps: float  # over the last WINDOW_S while running; over the whole run at the end
    latency_p50_ms: float | None  # capture to sink, over the last WINDOW_S
    latency_p95_ms: float | None
    unstamped: bool = False  # frames came, none saying when they were captured (a WHEP stream from OBS)

    @property
    def latency(self) -> str:
        if self.latency_p50_ms is None:
            return "latency unknown (the sender does not stamp its frames)" if self.unstamped else "latency -"
        return f"latency {self.latency_p50_ms:.0f} ms (p95 {self.latency_p95_ms:.0f})"

    def line(self) -> str:
        """The running status: what the user watches while streaming."""
        return f"{self.fps:5.1f} fps | {self.latency} | dropped {self.dropped} | {self.frames_out} frames"

    def summary(self) -> str:
        """The totals at the end, in the words the counts are checked against."""
        return (
            f"{self.frames_in} frames in, {self.frames_out} out, {self.dropped} dropped; "
            f"{self.fps:.1f} fps, {self.latency}"
        )


class Meter:
    """Counts frames in and out and keeps recent (arrival, latency) pairs for fps and percentiles."""

    def __init__(self) -> None:
        self.frames_in = 0
        self.frames_out = 0
        self.first: float | None = None
        self.recent: deque[tuple[float, float | None]] = deque()  # (arrival, latency if known)

    def arrived(self, frame: CameraFrame, stamped: bool = True) -> None:
        """`frame` reached the sink; `stamped` False: its `captured` is only its arrival, so no latency."""
        now = time.monotonic()
        self.first = self.first or now
        self.frames_out += 1
        self.recent.append((now, now - frame.captured if stamped else None))
        while self.recent and self.recent[0][0] < now - WINDOW_S:
            self.recent.popleft()

    def totals(self, source: FrameSource, swapper: StreamSwapper, *, final: bool = False) -> StreamTotals:
        frames_in = self.frames_in + source.dropped
        waiting = 0 if final else swapper.in_flight
        if final and self.first is not None and self.recent:
            span, intervals = self.recent[-1][0] - self.first, self.frames_out - 1
        else:
            span, intervals = (self.recent[-1][0] - self.recent[0][0], len(self.recent) - 1) if self.recent else (0, 0)
        fps = intervals / span if span > 0 else 0.0
        latencies = [latency for _, latency in self.recent if latency is not None]
        p50, p95 = np.percentile(latencies, [50, 95]) * 1000 if latencies else (None, None)
        unstamped = bool(self.recent) and not latencies
        # Over WebRTC the returned track may carry a frame twice (the encoder repeats one to keep its
        # pace), so more can come out than went in: nothing was dropped then, not a negative number.
        dropped = max(0, frames_in - self.frames_out - waiting)
        return StreamTotals(frames_in, self.frames_out, dropped, fps, p50, p95, unstamped)


class StatusLine:
    """One line, rewritten in place on a terminal; elsewhere (a log, a test) only the final totals."""

    def __init__(self, out: TextIO = sys.stderr) -> None:
        self.out = out
        self.live = out.isatty()
        self._last = 0.0

    def show(self, text: str) -> None:
        now = time.monotonic()
        if self.live and now - self._last >= STATUS_INTERVAL_S:
            self._last = now
            self.out.write(f"\r\x1b[K{text}")
            self.out.flush()

    def finish(self, text: str) -> None:
        self.out.write(f"\r\x1b[K{text}\n" if self.live else f"{text}\n")
        self.out.flush()


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM while the block runs (the previous handlers come back after)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_stream(
    source: FrameSource, swapper: StreamSwapper, sink: FrameSink, status: StatusLine | None = None
) -> StreamTotals:
    """Swap every frame the source gives into the sink; the sink is closed (file finished) at the end.

    A typed failure (camera gone, stream closed) after frames were written finishes the sink with
    them before it is raised; any other failure, or one before the first frame, aborts the sink.
    """
    status = status or StatusLine()
    meter = Meter()

    def deliver(frames: list[CameraFrame]) -> None:
        for frame in frames:
            sink.write(frame)
            meter.arrived(frame)

    try:
        with stop_on_signals() as stop:
            for frame in source.frames():
                meter.frames_in += 1
                swapper.send(frame, wait=not source.live)
                deliver(swapper.ready())
                status.show(f"{meter.totals(source, swapper).line()} | {swapper.describe()} -> {sink.name}")
                if stop.is_set() or sink.stopped:
                    break
            deliver(swapper.finish())
    except PlasticVisionError:
        if not meter.frames_out:
            sink.abort()
            raise
        finish(source, swapper, sink, meter, status)  # the stream broke: keep what came before
        raise
    except BaseException:
        sink.abort()
        raise
    return finish(source, swapper, sink, meter, status)


def finish(
    source: FrameSource, swapper: StreamSwapper, sink: FrameSink, meter: Meter, status: StatusLine
) -> StreamTotals:
    """Close the sink (a file is finished) and print the totals."""
    sink.close()
    totals = meter.totals(source, swapper, final=True)
    status.finish(f"{totals.summary()} -> {sink.name}")
    return totals
