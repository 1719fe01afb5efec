"""`WS /ws/stream`: JPEG frames in, swapped JPEG frames out, latest frame wins.

Protocol: the server first sends the text `{"status": "connected"}`; each binary message is
a JPEG frame and gets one binary JPEG back unless a newer frame arrived before it was
processed (stale frames are dropped, so latency stays bounded when the client sends faster
than the server swaps). A text `{"settings": {...}}` updates the session's settings and is
answered with `{"settings": {...all...}}`. A bad frame or message gets a text
`{"detail": "...", "code": 4xx, "about": "frame" | "message"}` and the connection stays
open; refusals (API key, origin, limits) and repeated bad messages close it with 1008 or
1013 and the reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from plasticvision.engines.pool import Replica
from plasticvision.errors import PlasticVisionError
from plasticvision.media.images import decode_image, encode_jpeg
from plasticvision.pipeline.session import SwapSession
from plasticvision.pipeline.tracking import FaceTracker
from plasticvision.server.deps import ConfigDep, RegistryDep, SwapperDep, WorkersDep
from plasticvision.server.errors import describe_errors, ws_close_code
from plasticvision.server.limits import MB
from plasticvision.server.overlay import NO_SOURCE_NOTICE, draw_notice
from plasticvision.server.security import check_api_key, check_origin
from plasticvision.server.workers import Workers
from plasticvision.types import Face, Frame

JPEG_QUALITY = 80
MAX_PARALLEL_FRAMES = 2  # per connection: enough to keep two cores busy on one stream
MAX_BAD_IN_A_ROW = 20
MAX_CLOSE_REASON = 120  # bytes; RFC 6455 allows 123

router = APIRouter()
log = logging.getLogger(__name__)


class FrameTooLarge(PlasticVisionError):
    status_code = 413


class BadMessage(PlasticVisionError):
    status_code = 400


class InvalidSettings(PlasticVisionError):
    status_code = 422


class TooManyBadMessages(PlasticVisionError):
    """Closes the connection (1008): a client that only sends garbage is not a client."""


class FrameStream:
    """One connection: a receive loop that keeps only the newest frame, and processors that swap it."""

    def __init__(
        self, websocket: WebSocket, session: SwapSession, workers: Workers, max_bytes: int, max_pixels: int, replica: Replica
    ):
        self.websocket = websocket
        self.session = session
        self.workers = workers
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.replica = replica  # the device this stream stays on
        self.tracker = FaceTracker(replica.engine)  # one per stream: detect rarely, follow in between
        self.tracker_lock = threading.Lock()  # frames are swapped in parallel; the tracker is sequential
        self.latest: tuple[int, bytes] | None = None
        self.frame_ready = asyncio.Event()
        self.send_lock = asyncio.Lock()
        self.received = self.sent = self.bad_in_a_row = 0

    async def run(self) -> None:
        """Until the client disconnects; the first failure of any task ends the connection and is raised."""
        try:
            async with anyio.create_task_group() as group:
                for _ in range(min(MAX_PARALLEL_FRAMES, self.workers.size)):
                    group.start_soon(self.process_frames)
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
                    self.offer(message["bytes"])
                else:
                    await self.apply_settings(message.get("text") or "")
            except PlasticVisionError as exc:
                await self.report(exc, "frame" if is_frame else "message")

    def offer(self, data: bytes) -> None:
        """Keep this frame as the one to process next, replacing any older one still waiting."""
        if len(data) > self.max_bytes:
            raise FrameTooLarge(f"frame is {len(data) / MB:.1f} MB; the limit is {self.max_bytes / MB:.1f} MB")
        self.received += 1
        self.latest = (self.received, data)
        self.frame_ready.set()

    async def apply_settings(self, text: str) -> None:
        message = parse_settings_message(text)
        try:
            settings = self.session.update_settings(message)
        except ValidationError as exc:
            raise InvalidSettings(describe_errors(exc.errors())) from exc
        self.bad_in_a_row = 0
        await self.send_text({"settings": settings.model_dump()})

    async def process_frames(self) -> None:
        """Take the newest frame only once a thread is free for it, so no frame waits in a queue."""
        while True:
            await self.frame_ready.wait()
            async with self.workers.slot():
                if self.latest is None:
                    self.frame_ready.clear()
                    continue
                (number, data), self.latest = self.latest, None
                self.frame_ready.clear()
                try:
                    jpeg = await self.workers.execute(self.render, data)
                except PlasticVisionError as exc:
                    await self.report(exc, "frame")
                    continue
            async with self.send_lock:
                if number > self.sent:  # a newer frame may have overtaken this one
                    self.sent, self.bad_in_a_row = number, 0
                    await self.websocket.send_bytes(jpeg)

    def render(self, data: bytes) -> bytes:
        """Runs on the worker pool: decode, swap (or the notice when there is no source), encode."""
        frame = decode_image(data, self.max_pixels)
        if not self.session.faces_loaded:
            return encode_jpeg(draw_notice(frame, NO_SOURCE_NOTICE), JPEG_QUALITY)
        with self.replica.work() as engine:
            swapped = self.session.swap(frame, locate=self.locate, engine=engine).frame
        return encode_jpeg(swapped, JPEG_QUALITY)

    def locate(self, frame: Frame) -> list[Face]:
        with self.tracker_lock:
            return self.tracker.locate(frame)

    async def report(self, exc: PlasticVisionError, about: str) -> None:
        """Tell the client what was wrong, and `about` a "frame" (its reply will not come) or a text "message";
        close the connection when it keeps sending bad ones."""
        self.bad_in_a_row += 1
        if self.bad_in_a_row > MAX_BAD_IN_A_ROW:
            raise TooManyBadMessages(f"more than {MAX_BAD_IN_A_ROW} bad messages in a row; last: {exc}")
        await self.send_text({"detail": str(exc), "code": exc.status_code, "about": about})

    async def send_text(self, payload: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.websocket.send_text(json.dumps(payload))


def parse_settings_message(text: str) -> dict[str, Any]:
    """The settings changes in a `{"settings": {...}}` text message."""
    try:
        message = json.loads(text)
    except ValueError:
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
) -> None:
    """Accept first, so a refused client still learns why from the close code and reason."""
    await websocket.accept()
    try:
        check_origin(config, websocket.headers.get("origin"))
        check_api_key(config, api_key or websocket.headers.get("x-api-key"), "as ?api_key= or the X-API-Key header")
        with registry.connect(session) as swap_session, swapper.pool.attach() as replica:
            await websocket.send_text(json.dumps({"status": "connected"}))
            limits = config.max_ws_message_bytes, config.max_image_pixels
            await FrameStream(websocket, swap_session, workers, *limits, replica).run()
    except PlasticVisionError as exc:
        log.info("stream closed: %s", exc)
        reason = str(exc).encode()[:MAX_CLOSE_REASON].decode(errors="ignore")
        await websocket.close(ws_close_code(exc), reason)
    except WebSocketDisconnect:
        pass
