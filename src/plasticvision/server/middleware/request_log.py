"""Every request's id, outcome and duration: echoed as `X-Request-Id`, counted in the metrics, logged.

The id is the client's `X-Request-Id` when it is a sane token (a proxy's, so one id follows a
request through nginx and the server), else a fresh one. The route is the matched path
template (`/jobs/{job_id}`), never the raw URL, so metrics labels stay few and query strings
(which may hold an API key) stay out of the logs. A WebSocket is logged once, when it closes,
with the time it was open.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plasticvision.server.metrics import Metrics
from plasticvision.server.middleware.logging_json import REQUEST_CONTEXT
from plasticvision.server.sessions.ids import log_name
from plasticvision.server.sessions.registry import SESSION_ID, named_session

log = logging.getLogger("plasticvision.access")

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "(unmatched)"


def request_id(headers: Headers) -> str:
    given = headers.get("x-request-id", "")
    return given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def session_of(scope: Scope) -> str:
    """The session the request names (header, or `?session=` for WebSocket and EventSource), as a short hash:
    an id is a bearer secret, so the logs never hold one."""
    session = named_session(scope)
    return log_name(session if SESSION_ID.fullmatch(session) else "(invalid)")


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED


class RequestLog:
    def __init__(self, app: ASGIApp, metrics: Metrics, *, access_log: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rid = request_id(headers)
        context = {"request_id": rid, "session": session_of(scope)}
        token = REQUEST_CONTEXT.set(context)
        started = time.perf_counter()
        status = 101 if scope["type"] == "websocket" else 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-Id", rid)
            elif message["type"] == "websocket.close" and message.get("code", 1000) != 1000:
                status = message.get("code", 1000)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = route_of(scope)
            if scope["type"] == "http":
                self.metrics.observe_response(route, status)
            if self.access_log:
                log.info(
                    "%s %s %s",
                    scope.get("method", "WS"),
                    route,
                    status,
                    extra={
                        **context,
                        "method": scope.get("method", "WEBSOCKET"),
                        "route": route,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            REQUEST_CONTEXT.reset(token)
