"""`WS /ws/stream`: JPEG frames in, swapped JPEG frames out, latest frame wins.

The wire format is `plasticvision.protocol`: the seed form (bare JPEG both ways) or, with
`?protocol=2`, frames and replies with headers (sequence number, capture time, server time).
The server first sends the text `{"status": "connected", ...}`; each frame gets one reply
unless a newer frame arrived before it was processed (stale frames are dropped, so latency
stays bounded when the client sends faster than the server swaps; protocol 2 says so with a
`DROPPED` reply). Replies go out in frame order: a frame overtaken by a newer reply is dropped,
never sent late. A text `{"settings": {...}}` updates the session's settings and is answered
with `{"settings": {...all...}}`. A bad frame or message gets a text
`{"detail": "...", "type": "...", "code": 4xx, "about": "frame" | "message"}` (plus `"seq"` when
known) and the connection stays open; refusals (API key, origin, limits) and repeated bad messages
close it with 1008 or 1013 and the reason `type: detail` (see `server.errors`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from plasticvision.engines.pool import Replica
from plasticvision.errors import PlasticVisionError
from plasticvision.media.images import decode_image, encode_jpeg
from plasticvision.protocol import (
    KIND_DROPPED,
    KIND_FRAME,
    PROTOCOL_SEED,
    ReplyHeader,
    connected_message,
    decode_frame,
    encode_reply,
    negotiate,
)
from plasticvision.media.overlay import NO_SOURCE_NOTICE, draw_notice
from plasticvision.pipeline.session import SwapSession
from plasticvision.pipeline.timing import TimingStats
from plasticvision.config import ServerConfig
from plasticvision.server.client_limits import STREAM, ClientLimits, client_address
from plasticvision.server.deps import ConfigDep, RegistryDep, SwapperDep, WorkersDep
from plasticvision.server.errors import describe_errors, error_type, ws_close
from plasticvision.server.metrics import Metrics
from plasticvision.server.middleware.limits import MB
from plasticvision.server.middleware.security import check_api_key, check_origin
from plasticvision.server.newest_frame import NewestFrame, process_newest
from plasticvision.server.workers import Workers

JPEG_QUALITY = 80
MAX_BAD_IN_A_ROW = 20

router = APIRouter()
log = logging.getLogger(__name__)


class FrameTooLarge(PlasticVisionError):
    type = "frame_too_large"


class BadMessage(PlasticVisionError):
    type = "bad_message"


class InvalidSettings(PlasticVisionError):
    type = "invalid_request"


class TooManySettings(PlasticVisionError):
    type = "too_many_settings"


class SettingsRate:
    """At most `per_s` settings messages in any second: each one writes the session (and the store)."""

    def __init__(self, per_s: float) -> None:
        self.per_s = per_s
        self.recent: deque[float] = deque()

    def take(self, now: float) -> None:
        while self.recent and self.recent[0] <= now - 1.0:
            self.recent.popleft()
        if len(self.recent) >= self.per_s:
            raise TooManySettings(f"more than {self.per_s:g} settings messages a second; this one was not applied")
        self.recent.append(now)


class TooManyBadMessages(PlasticVisionError):
    """Closes the connection (1008): a client that only sends garbage is not a client."""

    type = "too_many_bad_messages"


@dataclass(frozen=True, slots=True)
class Incoming:
    """A received frame waiting for a thread: its place in the stream and what to echo."""

    number: int  # the server's own count, which orders replies in both protocol forms
    jpeg: bytes | memoryview
    received_at: float  # perf_counter seconds
    seq: int | None = None  # protocol 2 only
    capture_time_ms: float = 0.0
    reply_quality: int = 0


class FrameStream:
    """One connection: a receive loop that keeps only the newest frame, and processors that swap it."""

    def __init__(
        self,
        websocket: WebSocket,
        session: SwapSession,
        workers: Workers,
        config: ServerConfig,
        replica: Replica,
        protocol: int = PROTOCOL_SEED,
        stats: TimingStats | None = None,
    ):
        self.websocket = websocket
        self.metrics: Metrics = websocket.app.state.metrics
        self.session = session
        self.workers = workers
        self.parallel_frames = config.stream_parallel_frames  # 2 keeps two cores (or CPU + GPU) busy on one stream
        self.max_bytes = config.max_ws_message_bytes
        self.max_pixels = min(config.max_stream_pixels, config.max_image_pixels)  # a frame, not a photo
        self.settings_rate = SettingsRate(config.settings_messages_per_s)
        self.protocol = protocol
        self.stats = stats
        self.replica = replica  # the device this stream stays on
        self.live = session.stream(engine=replica.engine)  # one tracker per connection: detect rarely, follow in between
        self.frames: NewestFrame[Incoming] = NewestFrame()
        self.send_lock = asyncio.Lock()
        self.received = self.bad_in_a_row = 0
        self.last_seq: int | None = None

    async def run(self) -> None:
        """Until the client disconnects; the first failure of any task ends the connection and is raised."""
        try:
            async with anyio.create_task_group() as group:
                for _ in range(min(self.parallel_frames, self.workers.size)):
                    group.start_soon(process_newest, self.frames, self.workers.slot, self.work, self.send_reply)
                await self.receive_messages()
                group.cancel_scope.cancel()
        except ExceptionGroup as failures:
            raise failures.exceptions[0] from failures

    async def receive_messages(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            is_frame = message.get("bytes") is not None
            try:
                if is_frame:
                    await self.offer(message["bytes"])
                else:
                    await self.apply_settings(message.get("text") or "")
            except PlasticVisionError as exc:
                await self.report(exc, "frame" if is_frame else "message", getattr(exc, "seq", None))

    async def offer(self, data: bytes) -> None:
        """Keep this frame as the one to process next, replacing (and, in protocol 2, dropping) an older one."""
        received_at = time.perf_counter()
        if len(data) > self.max_bytes:
            raise FrameTooLarge(f"frame is {len(data) / MB:.1f} MB; the limit is {self.max_bytes / MB:.1f} MB")
        self.received += 1
        if self.protocol == PROTOCOL_SEED:
            incoming = Incoming(self.received, data, received_at)
        else:
            header, jpeg = decode_frame(data, self.last_seq)
            self.last_seq = header.seq
            incoming = Incoming(
                self.received, jpeg, received_at, header.seq, header.capture_time_ms, header.reply_quality
            )
        replaced = self.frames.offer(incoming)
        if replaced is not None:
            self.metrics.frames_dropped.inc()
            await self.send_dropped(replaced)

    async def apply_settings(self, text: str) -> None:
        message = parse_settings_message(text)
        self.settings_rate.take(time.monotonic())
        try:
            settings = await asyncio.to_thread(self.session.update_settings, message)  # it may write to Redis
        except ValidationError as exc:
            raise InvalidSettings(describe_errors(exc.errors())) from exc
        self.bad_in_a_row = 0
        await self.send_text({"settings": settings.model_dump()})

    async def work(self, incoming: Incoming) -> tuple[bytes, float] | None:
        """On a worker thread (`process_newest` holds it): the reply's JPEG and the ms it took; None after an error."""
        started = time.perf_counter()
        try:
            jpeg = await self.workers.execute(self.render, incoming.jpeg, incoming.reply_quality)
        except PlasticVisionError as exc:
            await self.report(exc, "frame", incoming.seq)
            return None
        return jpeg, (time.perf_counter() - started) * 1000

    async def send_reply(self, incoming: Incoming, result: tuple[bytes, float]) -> None:
        jpeg, work_ms = result
        async with self.send_lock:
            if not self.frames.first_to_show(incoming.number):  # a newer frame overtook this one: never send it late
                self.metrics.frames_dropped.inc()
                await self.send_dropped(incoming, locked=True)
                return
            self.bad_in_a_row = 0
            server_ms = (time.perf_counter() - incoming.received_at) * 1000
            if self.protocol == PROTOCOL_SEED:
                await self.websocket.send_bytes(jpeg)
            else:
                header = ReplyHeader(KIND_FRAME, incoming.seq or 0, incoming.capture_time_ms, server_ms, work_ms)
                await self.websocket.send_bytes(encode_reply(header, jpeg))
        self.metrics.frames_processed.inc()
        self.metrics.round_trip.observe(server_ms / 1000)
        if self.stats is not None:
            self.stats.add({"wait": server_ms - work_ms, "work": work_ms})

    async def send_dropped(self, incoming: Incoming, locked: bool = False) -> None:
        """Protocol 2 tells the client which frame will get no reply, so its slot frees at once."""
        if self.protocol == PROTOCOL_SEED:
            return
        server_ms = (time.perf_counter() - incoming.received_at) * 1000
        reply = encode_reply(ReplyHeader(KIND_DROPPED, incoming.seq or 0, incoming.capture_time_ms, server_ms, 0.0))
        if locked:
            await self.websocket.send_bytes(reply)
            return
        async with self.send_lock:
            await self.websocket.send_bytes(reply)

    def render(self, data: bytes | memoryview, quality: int = 0) -> bytes:
        """Runs on the worker pool: decode, swap (or the notice when there is no source), encode."""
        frame = decode_image(bytes(data) if isinstance(data, memoryview) else data, self.max_pixels)
        quality = quality or JPEG_QUALITY
        if not self.session.can_swap:
            return encode_jpeg(draw_notice(frame, NO_SOURCE_NOTICE), quality)
        with self.replica.work():
            swapped = self.live.swap(frame).frame
        return encode_jpeg(swapped, quality)

    async def report(self, exc: PlasticVisionError, about: str, seq: int | None = None) -> None:
        """Tell the client what was wrong, and `about` a "frame" (its reply will not come) or a text "message";
        close the connection when it keeps sending bad ones."""
        self.bad_in_a_row += 1
        status = error_type(exc).status
        self.metrics.stream_errors.labels(str(status)).inc()
        if self.bad_in_a_row > MAX_BAD_IN_A_ROW:
            raise TooManyBadMessages(f"more than {MAX_BAD_IN_A_ROW} bad messages in a row; last: {exc}")
        payload: dict[str, Any] = {"detail": str(exc), "type": exc.type, "code": status, "about": about}
        if seq is not None:
            payload["seq"] = seq
        await self.send_text(payload)

    async def send_text(self, payload: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.websocket.send_text(json.dumps(payload))


MAX_SETTINGS_TEXT = 16 * 1024  # characters; the whole settings object is a few hundred


def parse_settings_message(text: str) -> dict[str, Any]:
    """The settings changes in a `{"settings": {...}}` text message.

    Deeply nested JSON makes `json.loads` raise RecursionError (not a ValueError); it is a bad
    message like any other, answered with an error while the stream goes on.
    """
    if len(text) > MAX_SETTINGS_TEXT:
        raise BadMessage(f"text messages are at most {MAX_SETTINGS_TEXT} characters")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        message = None
    if not (isinstance(message, dict) and set(message) == {"settings"} and isinstance(message["settings"], dict)):
        raise BadMessage('text messages must be JSON like {"settings": {"sharpness": 0.5}}; frames are binary JPEG')
    return message["settings"]


@router.websocket("/ws/stream")
async def stream(
    websocket: WebSocket,
    config: ConfigDep,
    registry: RegistryDep,
    workers: WorkersDep,
    swapper: SwapperDep,
    session: Annotated[str | None, Query(description="your session id; none = 'default'")] = None,
    api_key: Annotated[str | None, Query(description="the API key, when the server has one")] = None,
    protocol: Annotated[str | None, Query(description="2 for frame and reply headers; none = the seed form")] = None,
) -> None:
    """Accept first, so a refused client still learns why from the close code and reason."""
    await websocket.accept()
    try:
        check_origin(config, websocket.headers.get("origin"), websocket.headers.get("host"))
        check_api_key(config, api_key or websocket.headers.get("x-api-key"), "as ?api_key= or the X-API-Key header")
        version = negotiate(protocol)
        limits: ClientLimits = websocket.app.state.client_limits
        with limits.hold(STREAM, client_address(websocket)):
            async with registry.connect_async(session) as swap_session:
                with swapper.pool.attach() as replica:
                    hello = connected_message(
                        version, max_frame_bytes=config.max_ws_message_bytes, jpeg_quality=JPEG_QUALITY
                    )
                    await websocket.send_text(json.dumps(hello))
                    stats = websocket.app.state.stream_stats
                    await FrameStream(websocket, swap_session, workers, config, replica, version, stats).run()
    except PlasticVisionError as exc:
        log.info("stream closed: %s", exc)
        await websocket.close(*ws_close(exc))
    except WebSocketDisconnect:
        pass
