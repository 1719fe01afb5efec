"""Running the app under uvicorn with the stream's transport settings, for the CLI, tests and benchmarks."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from plasticvision.config import ServerConfig

TRANSPORT_SIZE_FACTOR = 2
GRACEFUL_SHUTDOWN_S = 10  # open connections (SSE followers, streams) get this long after SIGTERM; then video
# jobs drain their running chunks (runner.DRAIN_S): together well within systemd's TimeoutStopSec


def uvicorn_config(app: FastAPI, config: ServerConfig, **overrides: object) -> uvicorn.Config:
    """JPEG frames do not compress, so per-message deflate only costs CPU: it is off.

    Frames up to the configured limit are processed; larger ones up to twice the limit get a
    text error and the connection lives on; beyond that the transport closes with 1009. With
    JSON logs, uvicorn logs through the root logger's JSON handler and its access log (whole
    URLs, query strings included) gives way to the app's own request log.
    """
    options: dict[str, object] = {
        "host": config.host,
        "port": config.port,
        "ws_per_message_deflate": False,
        "ws_max_size": TRANSPORT_SIZE_FACTOR * config.max_ws_message_bytes,
        "log_level": "info",
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
    }
    if config.log_format == "json":
        options |= {"log_config": None, "access_log": False}
    return uvicorn.Config(app, **(options | overrides))  # type: ignore[arg-type]
