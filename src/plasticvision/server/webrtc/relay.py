"""Frames of one WebRTC ingest through the session's `LiveStream`, newest first, out to every viewer.

The receiver decodes on its own thread and hands frames over one by one; `FrameRelay.pump`
takes each as soon as it comes and keeps only the newest, so a slow swap skips frames instead
of queueing decoded ones (latest frame wins, as on the WebSocket). Up to `parallel` frames swap
at once on the worker pool; a result overtaken by a newer one is dropped, never shown late.

When the machine is short of CPU the decoder itself falls behind (it must decode every frame
of a codec's chain); a frame that arrives more than `MAX_LATE_S` behind its own timestamp
(`Lateness`) is then skipped unswapped, which leaves the cores to the decoder until it has
caught up, so the delay cannot grow.

Swapped frames go out as they are made, so the output runs at the input's rate (or below it,
when swapping is slower); each is stamped with the time it was published, not its input's
timestamp: a viewer's jitter buffer then sees only the network's jitter, where input stamps
would make it buffer the swap's uneven durations too (Chromium grew its playout delay by
hundreds of ms that way). `Broadcast` hands the newest swapped frame to each viewer (the
sendrecv offerer itself, WHEP players), again newest first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from fractions import Fraction

import anyio
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, VideoStreamTrack
from av import VideoFrame

from plasticvision.engines.pool import Replica
from plasticvision.errors import PlasticVisionError
from plasticvision.pipeline.session import SwapSession
from plasticvision.server.metrics import Metrics
from plasticvision.server.newest_frame import NewestFrame, process_newest
from plasticvision.media.overlay import NO_SOURCE_NOTICE, draw_notice
from plasticvision.server.workers import Workers

log = logging.getLogger(__name__)

CLOCK_RATE = 90_000  # RTP's video clock
TIME_BASE = Fraction(1, CLOCK_RATE)
WINDOW_S = 5.0  # lateness is measured against the fastest frame of this many recent seconds
RESYNC_S = 30.0  # further behind than this is a timestamp jump (RTP wrap, a new source), not lateness
MAX_LATE_S = 0.25  # a decoded frame this far behind the stream's own clock is skipped, not swapped


@dataclass(frozen=True, slots=True)
class Incoming:
    number: int  # order of arrival: a result is shown only if no newer one was
    frame: VideoFrame
    received_at: float  # perf_counter seconds


class Lateness:
    """How far behind its timestamp a frame arrives, against the fastest arrival of the last few seconds.

    A window, not the fastest ever: a sender that stays behind (its clock drifts from ours, or it
    is itself short of CPU) sets a new normal after `WINDOW_S`, instead of having every frame
    skipped from then on.
    """

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self.fastest: deque[tuple[float, float]] = deque()  # (arrived, offset), offsets rising: a sliding minimum

    def of(self, frame: VideoFrame, arrived: float) -> float:
        if frame.pts is None or frame.time_base is None:
            return 0.0
        offset = arrived - float(frame.pts * frame.time_base)  # seconds; only differences matter
        if self.fastest and offset - self.fastest[0][1] > RESYNC_S:
            self.fastest.clear()  # the 32-bit RTP clock wrapped, or a new source: start over
        while self.fastest and self.fastest[-1][1] >= offset:
            self.fastest.pop()
        self.fastest.append((arrived, offset))
        while self.fastest[0][0] < arrived - self.window_s:
            self.fastest.popleft()
        return offset - self.fastest[0][1]


class Broadcast:
    """The newest swapped frame of one ingest, for any number of viewer tracks."""

    def __init__(self) -> None:
        self.frame: VideoFrame | None = None
        self.version = 0
        self.ended = False
        self._changed = asyncio.Condition()

    async def publish(self, frame: VideoFrame) -> None:
        async with self._changed:
            self.frame, self.version = frame, self.version + 1
            self._changed.notify_all()

    async def end(self) -> None:
        async with self._changed:
            self.ended = True
            self._changed.notify_all()

    async def next_after(self, version: int) -> tuple[int, VideoFrame]:
        """The newest frame once it is newer than `version`; MediaStreamError when the ingest has ended."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.ended or self.version > version)
            if self.ended or self.frame is None:
                raise MediaStreamError
            return self.version, self.frame


class ViewerTrack(VideoStreamTrack):
    """One viewer's video: each newest swapped frame once, at the pace they are made."""

    def __init__(self, broadcast: Broadcast) -> None:
        super().__init__()
        self.broadcast = broadcast
        self.seen = 0

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        self.seen, frame = await self.broadcast.next_after(self.seen)
        return frame


class FrameRelay:
    """Swaps one ingest track's frames into a `Broadcast`."""

    def __init__(
        self,
        session: SwapSession,
        replica: Replica,
        workers: Workers,
        metrics: Metrics,
        broadcast: Broadcast,
        parallel: int,
        max_pixels: int,
    ) -> None:
        self.session = session
        self.replica = replica
        self.live = session.stream(engine=replica.engine)  # one tracker per connection, as on the WebSocket
        self.workers = workers
        self.metrics = metrics
        self.broadcast = broadcast
        self.parallel = max(1, min(parallel, workers.size))
        self.max_pixels = max_pixels
        self.frames: NewestFrame[Incoming] = NewestFrame()
        self.received = 0
        self.lateness = Lateness()
        self.started = time.perf_counter()

    async def run(self, track: MediaStreamTrack) -> None:
        """Until the track ends (the peer hung up) or the task is cancelled (DELETE)."""
        try:
            async with anyio.create_task_group() as group:
                for _ in range(self.parallel):
                    group.start_soon(process_newest, self.frames, self.workers.slot, self.swap, self.show)
                await self.pump(track)
                group.cancel_scope.cancel()
        finally:
            await self.broadcast.end()

    async def pump(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if frame.width * frame.height > self.max_pixels:
                log.info("webrtc: dropped a %dx%d frame (over the pixel limit)", frame.width, frame.height)
                continue
            self.received += 1
            arrived = time.perf_counter()
            if self.lateness.of(frame, arrived) > MAX_LATE_S:
                self.metrics.frames_dropped.inc()
                if self.frames.discard() is not None:
                    self.metrics.frames_dropped.inc()
            elif self.frames.offer(Incoming(self.received, frame, arrived)) is not None:
                self.metrics.frames_dropped.inc()

    async def swap(self, incoming: Incoming) -> VideoFrame | None:
        """On a worker thread (`process_newest` holds it): the swapped frame; None when it could not be swapped."""
        try:
            return await self.workers.execute(self.render, incoming.frame)
        except PlasticVisionError as exc:
            log.info("webrtc: frame %d not swapped: %s", incoming.number, exc)
            return None

    async def show(self, incoming: Incoming, swapped: VideoFrame) -> None:
        if not self.frames.first_to_show(incoming.number):  # a newer frame overtook this one: never show it late
            self.metrics.frames_dropped.inc()
            return
        swapped.pts, swapped.time_base = round((time.perf_counter() - self.started) * CLOCK_RATE), TIME_BASE
        await self.broadcast.publish(swapped)
        self.metrics.frames_processed.inc()
        self.metrics.round_trip.observe(time.perf_counter() - incoming.received_at)

    def render(self, frame: VideoFrame) -> VideoFrame:
        """Runs on the worker pool: to BGR, swap (or the notice without a source), back to a frame."""
        image = frame.to_ndarray(format="bgr24")
        if not self.session.can_swap:
            image = draw_notice(image, NO_SOURCE_NOTICE)
        else:
            with self.replica.work():
                image = self.live.swap(image).frame
        return VideoFrame.from_ndarray(image, format="bgr24")
