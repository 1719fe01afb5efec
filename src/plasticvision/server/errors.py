"""The one place where failures become HTTP answers and WebSocket close codes.

Every `PlasticVisionError` carries its HTTP status; validation errors become 422 with the
field named. The body is always JSON `{"detail": "..."}`, so a bad request never ends in a 500.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from plasticvision.errors import PlasticVisionError
from plasticvision.media.disk_full import is_disk_full

LOCATIONS = ("body", "query", "header", "path", "cookie")

# RFC 6455 close codes for the stream (1009, message too big, is the transport's: see serving.py)
WS_POLICY_VIOLATION = 1008  # bad API key, origin or session id; repeated bad messages
WS_TRY_AGAIN_LATER = 1013  # connection or session limits


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


def ws_close_code(exc: PlasticVisionError) -> int:
    """Refusals that may succeed later say so (1013); the rest are policy violations (1008)."""
    return WS_TRY_AGAIN_LATER if exc.status_code in (429, 503) else WS_POLICY_VIOLATION


def error_response(status_code: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


async def on_plasticvision_error(request: Request, exc: PlasticVisionError) -> JSONResponse:
    return error_response(exc.status_code, str(exc), getattr(exc, "headers", None))  # e.g. Retry-After


async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """FastAPI's own errors; a body that could not be spooled because the disk is full is a 507, not a 400."""
    if is_disk_full(exc):
        return error_response(507, "the disk is full: the request body could not be stored; nothing was kept")
    return await http_exception_handler(request, exc)


async def on_os_error(request: Request, exc: OSError) -> Response:
    """A full disk anywhere under a request (a spool, a copy, a job's files) is a 507; any other OSError is
    the bug it was."""
    if is_disk_full(exc):
        return error_response(507, "the disk is full: nothing of this request was kept; try again later")
    raise exc


async def on_validation_error(request: Request, exc: RequestValidationError | ValidationError) -> JSONResponse:
    return error_response(422, describe_errors(exc.errors()))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PlasticVisionError, on_plasticvision_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(OSError, on_os_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ValidationError, on_validation_error)  # type: ignore[arg-type]
