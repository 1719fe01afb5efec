"""OpenAPI response docs shared by the routes: every code a route can answer, with its media type.

The fuzz test (schemathesis, `tests/server/test_fuzz_api.py`) holds the server to these documents:
an undocumented status code, media type or body shape is a failure. So a new route passes
`responses=error_responses(...)` (the codes every route can give plus its own) and, when it
answers with something other than JSON, `binary_response` or `event_stream_response`; a route that
takes files says which media types each file field takes with `openapi_extra=upload_fields(...)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from plasticvision.server.errors import ERROR_TYPES

Responses = dict[int | str, dict[str, Any]]


class ErrorBody(BaseModel):
    """Every error's body: a sentence for people and a stable word for programs."""

    detail: str
    type: str = Field(description="stable and documented (`server.errors.ERROR_TYPES`): branch on it, not on `detail`")


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
BINARY = {"type": "string", "format": "binary"}


def install_openapi(app: FastAPI) -> None:
    """The app's document with its multipart bodies as they are on the wire (see `describe_forms`)."""
    generate = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            describe_forms(generate())  # FastAPI keeps the dict it returns; changed in place, once
        return app.openapi_schema or {}

    app.openapi = document  # type: ignore[method-assign]


def describe_forms(document: dict[str, Any]) -> None:
    """File fields get `format: binary` besides FastAPI's `contentMediaType` (OpenAPI 3.0's spelling,
    which tools such as Schemathesis and client generators look for to send a file), and an optional
    form field is a value or absent, never `null` (a multipart part has no null)."""
    schemas = document.get("components", {}).get("schemas", {})
    for item in document.get("paths", {}).values():
        for operation in item.values():
            form = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
            if form is None:
                continue
            body = schemas.get(form["schema"].get("$ref", "").rsplit("/", 1)[-1], form["schema"])
            required = set(body.get("required", ()))
            for name, field in body.get("properties", {}).items():
                if name not in required:
                    drop_null(field)
            mark_file_fields(body)


def drop_null(field: dict[str, Any]) -> None:
    options = [option for option in field.get("anyOf", ()) if option.get("type") != "null"]
    if "anyOf" in field and len(options) == 1:
        del field["anyOf"]
        field.update(options[0])


def mark_file_fields(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("contentMediaType") == "application/octet-stream":
            node["format"] = "binary"
        for child in node.values():
            mark_file_fields(child)
    elif isinstance(node, list):
        for child in node:
            mark_file_fields(child)


def error_responses(*codes: int) -> Responses:
    """`{"detail": "...", "type": "..."}` JSON for the common codes plus `codes`, as a route's or router's
    `responses=`; each status lists the types it can carry, so the fuzz test holds the server to them."""
    return {
        code: {"description": ERROR_CODES[code], "content": error_content(code)}
        for code in sorted({*COMMON_CODES, *codes})
    }


def error_content(status: int) -> dict[str, Any]:
    """The error body's schema (inline: JSON whatever the route's response class), its `type` one of the status's."""
    schema = ErrorBody.model_json_schema()
    types = [name for name, kind in ERROR_TYPES.items() if kind.status == status]
    schema["properties"]["type"] = {**schema["properties"]["type"], "enum": types}
    return {"application/json": {"schema": schema}}


def binary_response(media_type: str, description: str, *codes: int) -> Responses:
    """A 200 (and e.g. 206 for ranges) whose body is a file of `media_type`."""
    return {code: {"description": description, "content": {media_type: {"schema": BINARY}}} for code in (200, *codes)}


IMAGE_TYPES = "image/jpeg, image/png, image/webp, image/bmp, image/tiff, image/gif"  # what media.images decodes
VIDEO_TYPES = "video/mp4, video/quicktime, video/webm, video/x-matroska, video/x-msvideo"  # what video.reader reads


def upload_fields(**fields: str) -> dict[str, Any]:
    """`openapi_extra` naming the media types each multipart file field takes (OpenAPI's `encoding`),
    e.g. `upload_fields(files=IMAGE_TYPES)`: a file field is not just any bytes."""
    encoding = {name: {"contentType": media_types} for name, media_types in fields.items()}
    return {"requestBody": {"content": {"multipart/form-data": {"encoding": encoding}}}}


def event_stream_response(description: str, events: Mapping[str, str], data: type[BaseModel]) -> Responses:
    """A 200 `text/event-stream`: each item (OpenAPI 3.2's `itemSchema`, as FastAPI writes it for SSE)
    is one of `events` (name: meaning), its `data` a JSON `data` model."""
    payload = {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": {"$ref": f"#/components/schemas/{data.__name__}"},
    }
    variants = [
        {
            "title": name,
            "description": meaning,
            "required": ["event", "data"],
            "properties": {"event": {"const": name}, "data": payload},
        }
        for name, meaning in events.items()
    ]
    return {200: {"description": description, "content": {"text/event-stream": {"itemSchema": {"oneOf": variants}}}}}
