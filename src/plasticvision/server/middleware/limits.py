"""Request bodies: a size limit per route and a pace limit, enforced while the body streams in.

A declared Content-Length over the route's limit is refused before a byte is read; a body
without one is counted as it arrives, and past the limit the app sees a disconnect and the
client a JSON 413. Video routes get room for a video (`PLASTICVISION_MAX_VIDEO_MB`), the others
for images. (FastAPI's own `max_body_size` answers in plain text, hence this middleware.)

Pace: a body that takes longer than `upload_grace_s` must have arrived at an average of at
least `upload_min_kbps` since the request began, so a client trickling one byte a second
(slowloris) holds a connection for the grace time, then gets a 408 and is cut off, and a
stalled body is cut off just the same. The app sees a disconnect, so its temp files go.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plasticvision.config import ServerConfig
from plasticvision.server.errors import error_response

MULTIPART_OVERHEAD = 1024 * 1024
MB = 1024 * 1024
KB = 1024
VIDEO_PATHS = frozenset({"/swap-video", "/jobs/video"})  # routes whose target file is a video


def max_body_bytes(config: ServerConfig, path: str = "") -> int:
    """Room for the most files a request may carry (sources plus one target), each at its limit."""
    if path in VIDEO_PATHS:
        return config.max_files * config.max_upload_bytes + config.max_video_bytes + MULTIPART_OVERHEAD
    return (config.max_files + 1) * config.max_upload_bytes + MULTIPART_OVERHEAD


class BodyLimit:
    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.config = config
        self.min_bytes_per_s = config.upload_min_kbps * KB
        self.grace_s = config.upload_grace_s

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = max_body_bytes(self.config, scope.get("path", ""))
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            await self.refuse(scope, receive, send, 413, over_size(max_bytes))
            return
        started, received, complete, refusal = self.now(), 0, False, None

        async def counted_receive() -> Message:
            nonlocal received, complete, refusal
            if refusal is not None:
                return {"type": "http.disconnect"}
            if complete:  # e.g. a streaming response listening for the client to go
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.next_byte_due(started, received) - self.now())
            except TimeoutError:
                refusal = 408, self.too_slow()
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                complete = not message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > max_bytes:
                    refusal = 413, over_size(max_bytes)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if refusal is None:  # otherwise the app is answering a body it never got
                await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if refusal is None:
                raise
        if refusal is not None:
            await self.refuse(scope, receive, send, *refusal)

    def next_byte_due(self, started: float, received: int) -> float:
        """When the next byte must have come for the body to keep the minimum average rate."""
        return started + max(self.grace_s, (received + 1) / self.min_bytes_per_s)

    def too_slow(self) -> str:
        return (
            f"the request body arrived slower than {self.config.upload_min_kbps:g} KB/s "
            f"after {self.grace_s:g} s; the connection was cut off"
        )

    async def refuse(self, scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        headers = {"Connection": "close"} if status == 408 else None
        await error_response(status, detail, headers)(scope, receive, send)


def over_size(max_bytes: int) -> str:
    return f"the request body is over the {max_bytes / MB:.1f} MB limit"
