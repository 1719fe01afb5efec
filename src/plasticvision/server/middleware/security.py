"""Who may call the API: the optional API key, CORS for browsers, and the stream's origin check.

`GET /` (health and the browser app) and the static files stay open; everything else
needs the key when `PLASTICVISION_API_KEY` is set. Keys are compared in constant time.
"""

from __future__ import annotations

import secrets

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from plasticvision.config import ServerConfig
from plasticvision.errors import PlasticVisionError

EXPOSED_HEADERS = ["X-Faces-Swapped", "X-Faces-Found", "X-Session-Id", "X-Request-Id"]


class ApiKeyMissing(PlasticVisionError):
    status_code = 401


class ApiKeyInvalid(PlasticVisionError):
    status_code = 403


class OriginRejected(PlasticVisionError):
    status_code = 403


def check_api_key(config: ServerConfig, given: str | None, where: str) -> None:
    """Raise unless no key is configured (unset or empty) or `given` matches it."""
    if not config.api_key:
        return
    if not given:
        raise ApiKeyMissing(f"this server needs an API key: send it {where}")
    if not secrets.compare_digest(given.encode(), config.api_key.encode()):
        raise ApiKeyInvalid("the API key is not valid")


def check_origin(config: ServerConfig, origin: str | None) -> None:
    """Browsers do not apply CORS to WebSockets, so the stream checks the Origin itself."""
    if origin is None or "*" in config.cors_origins or origin in config.cors_origins:
        return
    raise OriginRejected(f"origin {origin} is not allowed (PLASTICVISION_CORS_ORIGINS)")


def install_cors(app: FastAPI, config: ServerConfig) -> None:
    app.add_middleware(
        CORSMiddleware,
        allow_origins=config.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
    )
