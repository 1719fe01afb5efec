"""OpenAPI response docs shared by the routes: every code a route can answer, with its media type.

The fuzz test (schemathesis, `tests/server/test_fuzz_api.py`) holds the server to these documents:
an undocumented status code, media type or body shape is a failure. So a new route passes
`responses=error_responses(...)` (the codes every route can give plus its own) and, when it
answers with something other than JSON, `binary_response` or `event_stream_response`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

Responses = dict[int | str, dict[str, Any]]



class ErrorBody(BaseModel):
    """Every error's body."""

    detail: str


ERROR_CODES: dict[int, str] = {
    400: "a bad request, e.g. no session id where the server requires one",
    401: "no API key, where the server needs one",
    403: "a wrong API key",
    404: "no such resource",
    408: "the request body arrived too slowly and was cut off",
    409: "the request conflicts with the current state (no source faces yet, job not finished, id taken)",
    413: "an upload, image or video over a limit",
    415: "not a decodable image or video",
    422: "a field is missing, malformed or out of range; the detail names it",
    429: "a rate, session or connection limit was hit; `Retry-After` says when to try again",
    503: "a part of the server is not available (e.g. the engine's weights)",
    507: "the server's disk is full",
}
COMMON_CODES = (400, 401, 403, 408, 413, 422, 429)  # middleware and dependencies every route passes through
JSON_ERROR = {"application/json": {"schema": ErrorBody.model_json_schema()}}  # inline: JSON whatever the route's class
BINARY = {"type": "string", "format": "binary"}


def error_responses(*codes: int) -> Responses:
    """`{"detail": "..."}` JSON for the common codes plus `codes`, as a route's or router's `responses=`."""
    return {code: {"description": ERROR_CODES[code], "content": JSON_ERROR} for code in sorted({*COMMON_CODES, *codes})}


def binary_response(media_type: str, description: str, *codes: int) -> Responses:
    """A 200 (and e.g. 206 for ranges) whose body is a file of `media_type`."""
    return {code: {"description": description, "content": {media_type: {"schema": BINARY}}} for code in (200, *codes)}


def event_stream_response(description: str) -> Responses:
    return {200: {"description": description, "content": {"text/event-stream": {"schema": {"type": "string"}}}}}
