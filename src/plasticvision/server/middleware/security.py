"""Who may call the API: the API key, which origins' pages may, and the checks any route (REST, WebSocket, WHIP) reuses.

`GET /` (health and the browser app), the static files and `/metrics` (its own token) stay
open; everything else, `/openapi.json` and `/docs` included, needs the key when
`PLASTICVISION_API_KEY` is set. The gate middleware checks it from the headers before the app
runs; routes that take the key another way call `check_api_key` themselves. Keys are compared
in constant time. Browsers apply CORS to `fetch` but not to WebSockets, so streams call
`check_origin` with the same rule: the page's own origin, or one listed in `cors_origins`.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import Headers, QueryParams

from plasticvision.config import ServerConfig
from plasticvision.errors import PlasticVisionError

EXPOSED_HEADERS = ["X-Faces-Swapped", "X-Faces-Found", "X-Session-Id", "X-Request-Id", "Location"]
OPEN_PATHS = frozenset({"/", "/metrics", "/favicon.ico"})
OPEN_PREFIXES = ("/static/",)


class ApiKeyMissing(PlasticVisionError):
    type = "api_key_missing"


class ApiKeyInvalid(PlasticVisionError):
    type = "api_key_invalid"


class OriginRejected(PlasticVisionError):
    type = "origin_rejected"


def needs_key(method: str, path: str) -> bool:
    """Every route but the open ones; a CORS preflight (OPTIONS) carries no key by design."""
    if method == "OPTIONS":
        return False
    return not (path in OPEN_PATHS or path.startswith(OPEN_PREFIXES))


def presented_key(headers: Headers, query_string: bytes) -> str | None:
    """The key as `X-API-Key`, `Authorization: Bearer` (WHIP, Prometheus) or `?api_key=` (EventSource, WebSocket)."""
    if key := headers.get("x-api-key"):
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return QueryParams(query_string).get("api_key") or None


def check_api_key(config: ServerConfig, given: str | None, where: str) -> None:
    """Raise unless no key is configured (unset or empty) or `given` matches it."""
    if not config.api_key:
        return
    if not given:
        raise ApiKeyMissing(f"this server needs an API key: send it {where}")
    if not secrets.compare_digest(given.encode(), config.api_key.encode()):
        raise ApiKeyInvalid("the API key is not valid")


def same_origin(origin: str, host: str | None) -> bool:
    """The page was served by this server: its origin's host:port is the Host the request came to."""
    return bool(host) and urlsplit(origin).netloc.lower() == host.lower()


def check_origin(config: ServerConfig, origin: str | None, host: str | None = None) -> None:
    """A browser page from another origin may not drive a stream (no CORS for WebSockets).

    No Origin at all is a program, not a page, and passes; `*` in `cors_origins` opens it to all.
    """
    if origin is None or same_origin(origin, host) or "*" in config.cors_origins or origin in config.cors_origins:
        return
    raise OriginRejected(f"origin {origin} is not allowed: not this server's page nor in PLASTICVISION_CORS_ORIGINS")


def install_cors(app: FastAPI, config: ServerConfig) -> None:
    """CORS headers only for the listed origins: by default none, so only the server's own page may call it."""
    app.add_middleware(
        CORSMiddleware,
        allow_origins=config.cors_origins,
        allow_methods=["GET", "POST", "DELETE", "PATCH", "OPTIONS"],
        allow_headers=["X-API-Key", "X-Session-Id", "X-Job-Id", "X-Request-Id", "Content-Type", "Authorization"],
        expose_headers=EXPOSED_HEADERS,
    )
