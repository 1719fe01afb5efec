"""The request body limit, enforced while the body streams in, answered like every other error.

A declared Content-Length over the limit is refused before a byte is read; a body without
one is counted as it arrives, and past the limit the app sees a disconnect and the client a
JSON 413. (FastAPI's own `max_body_size` answers in plain text, hence this middleware.)
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plasticvision.config import ServerConfig
from plasticvision.server.errors import error_response

MULTIPART_OVERHEAD = 1024 * 1024
MB = 1024 * 1024


def max_body_bytes(config: ServerConfig) -> int:
    """Room for the most files a request may carry (sources plus one target), each at the per-file limit."""
    return (config.max_files + 1) * config.max_upload_bytes + MULTIPART_OVERHEAD


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self.refuse(scope, receive, send)
            return
        received, exceeded = 0, False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            message = {"type": "http.disconnect"} if exceeded else await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                exceeded = received > self.max_bytes
                if exceeded:
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not exceeded:  # otherwise the app is answering a body it never got
                await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded:
            await self.refuse(scope, receive, send)

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is over the {self.max_bytes / MB:.1f} MB limit"
        await error_response(413, detail)(scope, receive, send)
