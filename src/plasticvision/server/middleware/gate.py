"""The HTTP gate: API key and body size decided on the headers, then the body's pace watched as it streams.

FastAPI resolves dependencies after it has parsed the body, so a key checked by a dependency
comes after a 500 MB JSON array was parsed or 2.5 GB of multipart spooled to disk. Here the key
(`security.needs_key`, `security.presented_key`) and the route's size (`limits.max_body_bytes`)
are checked before the app runs, and a refusal answers without reading a byte: it costs the
server no memory and no disk (and `Connection: close`, so the unread body is never drained).

A body without a Content-Length (chunked) is counted as it arrives; past the limit, or past
the pace (`body_pace`: a minimum rate over a sliding window, a deadline per request), the app
sees a disconnect (so its temp files go) and the client gets a JSON 413 or 408.

Routes that issue a session to a request without one (`deps.get_session`) leave the id in the
request state; the gate adds it to the response as `X-Session-Id`, whatever the response type.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plasticvision.config import ServerConfig
from plasticvision.errors import PlasticVisionError
from plasticvision.server.errors import error_response
from plasticvision.server.middleware.limits import KB, max_body_bytes, over_size
from plasticvision.server.middleware.body_pace import BodyPace, PaceRule
from plasticvision.server.middleware.security import check_api_key, needs_key, presented_key

ISSUED_SESSION = "issued_session"  # request-state key: a session id minted for this request


class Gate:
    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.config = config
        self.rule = PaceRule(
            min_bytes_per_s=config.upload_min_kbps * KB,
            window_s=config.upload_window_s,
            grace_s=config.upload_grace_s,
            deadline_s=config.upload_deadline_s,
        )

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        method, path = scope.get("method", "GET"), scope.get("path", "")
        if needs_key(method, path):
            try:
                check_api_key(self.config, presented_key(headers, scope.get("query_string", b"")), KEY_WHERE)
            except PlasticVisionError as exc:
                await refuse(scope, receive, send, exc.type, str(exc))
                return
        max_bytes = max_body_bytes(self.config, path, method)
        declared = headers.get("content-length", "")
        if declared and (not declared.isdigit() or int(declared) > max_bytes):
            await refuse(scope, receive, send, "too_large" if declared.isdigit() else "bad_request", over_size(max_bytes))
            return
        await self.watch_body(scope, receive, send, max_bytes)

    async def watch_body(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        pace = BodyPace(self.rule, self.now())
        received, complete, refusal = 0, False, None

        async def counted_receive() -> Message:
            nonlocal received, complete, refusal
            if refusal is not None:
                return {"type": "http.disconnect"}
            if complete:  # e.g. a streaming response listening for the client to go
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), pace.next_due() - self.now())
            except TimeoutError:
                refusal = "too_slow", self.too_slow(pace)
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                complete = not message.get("more_body", False)
                size = len(message.get("body", b""))
                received += size
                pace.received(self.now(), size)
                if received > max_bytes:
                    refusal = "too_large", over_size(max_bytes)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if refusal is not None:  # the app is answering a body it never got
                return
            if message["type"] == "http.response.start" and (issued := (scope.get("state") or {}).get(ISSUED_SESSION)):
                MutableHeaders(scope=message).append("X-Session-Id", issued)
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if refusal is None:
                raise
        if refusal is not None:
            await refuse(scope, receive, send, *refusal)

    def too_slow(self, pace: BodyPace) -> str:
        if pace.past_deadline(self.now()):
            return f"the request body took longer than {self.rule.deadline_s:g} s; the connection was cut off"
        return (
            f"the request body arrived slower than {self.config.upload_min_kbps:g} KB/s over "
            f"{self.rule.window_s:g} s; the connection was cut off"
        )


KEY_WHERE = "in the X-API-Key header (or Authorization: Bearer, or ?api_key= where headers cannot be sent)"


async def refuse(scope: Scope, receive: Receive, send: Send, type_: str, detail: str) -> None:
    """A JSON error that closes the connection, so an unread body is dropped, never drained."""
    await error_response(type_, detail, {"Connection": "close"})(scope, receive, send)
