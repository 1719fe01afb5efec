"""The one place where failures become HTTP answers and WebSocket close codes.

Every failure has a stable, machine-readable `type` (a `PlasticVisionError` says its own, e.g.
`no_face`; validation errors are `invalid_request`); `ERROR_TYPES` gives each type its HTTP
status, and the WebSocket close code follows from that. Every error body is JSON
`{"detail": "...", "type": "..."}` and every close reason starts with `type: `, so clients branch
on the type, never on the words; a bad request never ends in a 500.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from plasticvision.errors import PlasticVisionError
from plasticvision.video.disk_full import is_disk_full

LOCATIONS = ("body", "query", "header", "path", "cookie")
MAX_CLOSE_REASON = 120  # bytes; RFC 6455 allows 123

# RFC 6455 close codes for the stream (1009, message too big, is the transport's: see serving.py)
WS_POLICY_VIOLATION = 1008  # bad API key, origin or session id; repeated bad messages
WS_TRY_AGAIN_LATER = 1013  # connection or session limits, a part of the server down


@dataclass(frozen=True, slots=True)
class ErrorType:
    status: int
    meaning: str

    @property
    def close_code(self) -> int:
        """Refusals that may succeed later say so (1013); the rest are policy violations (1008)."""
        return WS_TRY_AGAIN_LATER if self.status in (429, 503) else WS_POLICY_VIOLATION


ERROR_TYPES: dict[str, ErrorType] = {
    "bad_request": ErrorType(400, "the request cannot be read (e.g. a malformed multipart body)"),
    "host_not_allowed": ErrorType(400, "the Host header is not one of this server's names (`PLASTICVISION_ALLOWED_HOSTS`)"),
    "session_required": ErrorType(400, "this server needs a session id of your own: `X-Session-Id` or `?session=`"),
    "protocol_error": ErrorType(400, "a stream frame or handshake breaks the live protocol; the detail names the rule"),
    "bad_offer": ErrorType(400, "a WHIP/WHEP body that is not an SDP offer with video we can serve; the detail says why"),
    "bad_candidates": ErrorType(400, "a trickle ICE `PATCH` body with no candidate we can add; the detail says why"),
    "bad_message": ErrorType(400, "a stream text message that is not `{\"settings\": {...}}`"),
    "too_many_bad_messages": ErrorType(400, "a stream sent only bad frames or messages for too long (closed)"),
    "api_key_missing": ErrorType(401, "the server has an API key and none was sent"),
    "api_key_invalid": ErrorType(403, "the API key sent is not the server's"),
    "session_not_issued": ErrorType(403, "a session id this server did not issue: get one from `POST /sessions`"),
    "origin_rejected": ErrorType(403, "the page's origin is not in `PLASTICVISION_CORS_ORIGINS` (stream)"),
    "not_found": ErrorType(404, "no such route or file"),
    "unknown_job": ErrorType(404, "no video job of your session has this id"),
    "unknown_identity": ErrorType(404, "your session has no identity of this name"),
    "unknown_person": ErrorType(404, "your face map has no person with this id"),
    "unknown_face": ErrorType(404, "no recent detection of your session has this face id"),
    "unknown_resource": ErrorType(404, "no WHIP/WHEP resource has this id: it ended or never existed"),
    "nothing_to_play": ErrorType(404, "a WHEP request for a session with no WHIP stream"),
    "method_not_allowed": ErrorType(405, "the route exists but not with this method"),
    "too_slow": ErrorType(408, "the request body arrived too slowly and was cut off"),
    "no_source_faces": ErrorType(409, "a swap was asked for before any source face was uploaded"),
    "job_exists": ErrorType(409, "a job with this id exists already; choose another"),
    "job_not_ready": ErrorType(409, "the job has no result: it has not finished, or did not succeed"),
    "job_finished": ErrorType(409, "a cancel for a job that has already ended (`DELETE` removes it)"),
    "too_large": ErrorType(413, "the request body is over the server's limit"),
    "file_too_large": ErrorType(413, "an uploaded file is over `PLASTICVISION_MAX_UPLOAD_MB`"),
    "too_many_files": ErrorType(413, "more files than `PLASTICVISION_MAX_FILES`"),
    "image_too_large": ErrorType(413, "an image with more pixels than `PLASTICVISION_MAX_IMAGE_PIXELS`"),
    "video_too_large": ErrorType(413, "a video over a size, resolution, duration or frame-count limit"),
    "frame_too_large": ErrorType(413, "a stream frame over `PLASTICVISION_MAX_WS_MESSAGE_MB`"),
    "bad_image": ErrorType(415, "not a decodable image"),
    "not_sdp": ErrorType(415, "a WHIP/WHEP body not sent as `application/sdp` (a `PATCH`: `application/trickle-ice-sdpfrag`)"),
    "bad_video": ErrorType(415, "not a decodable video"),
    "not_verifiable": ErrorType(415, "`/verify` got neither an image nor a video in an accepted container"),
    "unsupported_container": ErrorType(415, "a container or codec off the allow-list (a playlist, a GIF, ...)"),
    "invalid_request": ErrorType(422, "a field or setting is missing, malformed or out of range; the detail names it"),
    "bad_session": ErrorType(422, "a session id that is not 1-64 letters, digits, '.', '_' or '-'"),
    "bad_job_id": ErrorType(422, "a job id that is not 1-64 letters, digits, '-' or '_'"),
    "bad_name": ErrorType(422, "an identity name that is not 1-40 letters, digits, spaces, '.', \"'\", '_' or '-'"),
    "no_face": ErrorType(422, "no face was found in a source or reference photo"),
    "ambiguous_reference": ErrorType(422, "a reference photo with several faces: pick one by its face id"),
    "missing_sources": ErrorType(422, "no source faces given, and your session has no face map"),
    "unsupported_option": ErrorType(422, "a setting the running engine cannot honour (e.g. `enhance` on dlib)"),
    "too_many_identities": ErrorType(422, "your session has the most identities it may have"),
    "too_many_people": ErrorType(422, "your face map has the most people it may have"),
    "job_failed": ErrorType(422, "the video could not be swapped; the detail says why"),
    "rate_limited": ErrorType(429, "over `PLASTICVISION_RATE_LIMIT`; `Retry-After` says when to try again"),
    "client_limit_reached": ErrorType(429, "your address holds the most sessions, live streams or event streams it may"),
    "too_many_settings": ErrorType(429, "settings messages on the stream came faster than the server takes them"),
    "too_many_sessions": ErrorType(429, "the server holds `PLASTICVISION_MAX_SESSIONS` sessions already"),
    "too_many_connections": ErrorType(429, "the server or your session has the most streams it may have"),
    "queue_full": ErrorType(429, "`PLASTICVISION_MAX_VIDEO_QUEUE` video jobs are waiting or running; see `Retry-After`"),
    "quota_exceeded": ErrorType(429, "your session or address has the most video jobs or bytes it may have"),
    "server_error": ErrorType(500, "a fault of the server, not of the request; it is logged"),
    "signing_unavailable": ErrorType(503, "the operator's C2PA signing settings are unusable (certificate, key or hook)"),
    "model_missing": ErrorType(503, "an engine's weights are missing or fail their checksum"),
    "store_unavailable": ErrorType(503, "the session store (Redis) is unreachable: changes are refused for now"),
    "device_failed": ErrorType(503, "the engine's device failed (a driver or CUDA fault); try again"),
    "jobs_unavailable": ErrorType(503, "video jobs are not running on this server"),
    "cluster_unavailable": ErrorType(503, "the Ray cluster for video chunks cannot be reached"),
    "device_unavailable": ErrorType(503, "a camera or virtual camera cannot be opened (CLI only)"),
    "output_not_writable": ErrorType(503, "an output file cannot be written (CLI only)"),
    "disk_full": ErrorType(507, "the server's disk is full; nothing partial was kept"),
}
HTTP_TYPES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}  # Starlette's own


def error_type(exc: PlasticVisionError) -> ErrorType:
    """How a failure is answered, by its type; an unknown type (a bug: the suite checks every class) is a 400."""
    return ERROR_TYPES.get(exc.type, ERROR_TYPES["bad_request"])


def describe_errors(errors: Sequence[dict[str, Any]]) -> str:
    """`field: message` for each pydantic error, e.g. `sharpness: Input should be less than or equal to 1`."""
    parts = []
    for error in errors:
        if error.get("type") == "json_invalid":
            parts.append(f"the body is not valid JSON: {error.get('ctx', {}).get('error', error.get('msg'))}")
            continue
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in LOCATIONS and len(loc) > 1:
            loc = loc[1:] if loc[0] == "body" else [f"{loc[0]} {loc[1]}", *loc[2:]]
        field = ".".join(loc) or "request"
        parts.append(f"{field}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def ws_close(exc: PlasticVisionError) -> tuple[int, str]:
    """The close code and reason for a refused or ended stream: `type: detail`, within RFC 6455's 123 bytes."""
    reason = f"{exc.type}: {exc}".encode()[:MAX_CLOSE_REASON].decode(errors="ignore")
    return error_type(exc).close_code, reason


def error_body(type_: str, detail: str) -> dict[str, str]:
    return {"detail": detail, "type": type_}


def error_response(type_: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(type_, detail), status_code=ERROR_TYPES[type_].status, headers=headers)


async def on_plasticvision_error(request: Request, exc: PlasticVisionError) -> JSONResponse:
    body = error_body(exc.type, str(exc))
    return JSONResponse(body, status_code=error_type(exc).status, headers=getattr(exc, "headers", None))  # Retry-After


async def on_validation_error(request: Request, exc: RequestValidationError | ValidationError) -> JSONResponse:
    return error_response("invalid_request", describe_errors(exc.errors()))


async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Starlette's own refusals (no such route, wrong method, an unreadable body), typed like ours; a body
    that could not be spooled because the disk is full is a 507, not a 400."""
    if is_disk_full(exc):
        return error_response("disk_full", "the disk is full: the request body could not be stored; nothing was kept")
    type_ = HTTP_TYPES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "server_error")
    body = error_body(type_, str(exc.detail))
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def on_server_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug or a fault: logged with its traceback by Starlette, answered without one; a full disk anywhere
    under a request (a copy, a job's files) is a 507."""
    if is_disk_full(exc):
        return error_response("disk_full", "the disk is full: nothing of this request was kept; try again later")
    return error_response("server_error", "internal server error; the server logged it")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PlasticVisionError, on_plasticvision_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ValidationError, on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_server_error)
