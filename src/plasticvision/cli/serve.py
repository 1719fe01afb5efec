"""`serve`: the API server and the browser app on one port."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from plasticvision.cli.options import add_devices_flag

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the server (REST, WebSocket stream and the browser app)",
        description="Flags override the PLASTICVISION_* environment variables.",
    )
    serve.add_argument("--host", help="interface to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--engine", choices=("auto", "dlib", "inswapper"), help="model back-end (default auto)")
    serve.add_argument("--models-dir", help="where the inswapper weights live")
    add_devices_flag(serve, "every CUDA device")
    serve.add_argument(
        "--api-key", help="require this key (X-API-Key header, ?api_key= on the WebSocket); prefer PLASTICVISION_API_KEY"
    )
    serve.add_argument("--cors-origins", nargs="+", metavar="ORIGIN", help="origins allowed to call the API (default *)")
    serve.add_argument(
        "--log-format", choices=("text", "json"), help="json: one object per line, with request id and session"
    )
    serve.add_argument("--redis-url", help="keep sessions in Redis, shared by replicas (PLASTICVISION_REDIS_URL)")
    serve.set_defaults(run=run_serve)


def flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The flags the user gave, as ServerConfig fields."""
    names = ("host", "port", "engine", "models_dir", "api_key", "cors_origins", "log_format", "redis_url", "devices")
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from plasticvision.config import ServerConfig
    from plasticvision.server import create_app
    from plasticvision.server.memory import limit_malloc_arenas
    from plasticvision.server.middleware.logging_json import configure_logging
    from plasticvision.server.serving import uvicorn_config

    config = ServerConfig(**flag_overrides(args))
    configure_logging(config.log_format, logging.DEBUG if args.verbose else logging.INFO)
    limit_malloc_arenas(config.malloc_arenas)  # before the engine and the pools start their threads
    app = create_app(config)  # loads the engine and logs which one was chosen and why
    if not config.api_key and config.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s without an API key: anyone who can reach it can use it", config.host)
    uvicorn.Server(uvicorn_config(app, config)).run()
    return 0
