"""Video uploads refused before their first byte is spooled: full queue or quota (429), no disk room (507).

FastAPI reads the whole multipart body into TMPDIR before a route runs, so a check in the
route comes after the disk has filled. This middleware answers from the request line and
headers alone (`Content-Length`, the session id, the client's address), with the same
`JobQuotas` the job runner applies again when it reserves the job.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from plasticvision.errors import PlasticVisionError
from plasticvision.server.client_limits import client_address
from plasticvision.server.errors import error_response
from plasticvision.server.middleware.limits import VIDEO_PATHS
from plasticvision.server.sessions.registry import named_session


class VideoAdmission:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        jobs = getattr(scope.get("app").state, "video_jobs", None) if scope.get("app") else None
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in VIDEO_PATHS or jobs is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        incoming = int(declared) if declared.isdigit() else 0
        try:
            if jobs.quotas is not None:
                jobs.quotas.check(jobs.store, named_session(scope), client_address(HTTPConnection(scope)), incoming)
                jobs.quotas.check_disk(jobs.files.root, incoming)
        except PlasticVisionError as exc:
            headers_out = {**getattr(exc, "headers", {}), "Connection": "close"}  # the body is not read
            await error_response(exc.type, str(exc), headers_out)(scope, receive, send)
            return
        await self.app(scope, receive, send)
