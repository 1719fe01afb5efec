"""`serve`: the API server and the browser app on one port."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Any

from plasticvision.cli.options import add_devices_flag

if TYPE_CHECKING:  # the server's modules load only when `serve` runs, so other commands start fast
    from plasticvision.config import ServerConfig

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
    serve.add_argument(
        "--cors-origins", nargs="+", metavar="ORIGIN",
        help="other origins whose pages may call the API, e.g. `plasticvision web`'s http://127.0.0.1:3000 "
        "(default: none, only the server's own page)",
    )
    serve.add_argument(
        "--allowed-hosts", nargs="+", metavar="HOST", help="Host names to answer to on a public address (default: any)"
    )
    serve.add_argument(
        "--public-without-key", action="store_true", default=None,
        help="listen on a public address without an API key, on purpose (anyone who reaches it can use it)",
    )
    serve.add_argument(
        "--log-format", choices=("text", "json"), help="json: one object per line, with request id and session"
    )
    serve.add_argument("--redis-url", help="keep sessions in Redis, shared by replicas (PLASTICVISION_REDIS_URL)")
    serve.set_defaults(run=run_serve)


def flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The flags the user gave, as ServerConfig fields."""
    names = (
        "host", "port", "engine", "models_dir", "api_key", "cors_origins", "allowed_hosts", "public_without_key",
        "log_format", "redis_url", "devices",
    )
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


class UnsafeStart(ValueError):
    """A configuration that would put an open server on the network by accident."""


def load_config(args: argparse.Namespace) -> ServerConfig:
    """The validated config, its errors as one line each (a placeholder secret is one)."""
    from pydantic import ValidationError

    from plasticvision.config import ServerConfig
    from plasticvision.server.errors import describe_errors

    try:
        return ServerConfig(**flag_overrides(args))
    except ValidationError as exc:
        raise UnsafeStart(describe_errors(exc.errors())) from None


def check_exposure(config: ServerConfig) -> None:
    """A key-less server only on loopback, unless the operator says it is on purpose."""
    from plasticvision.server.middleware.hosts import is_loopback

    if config.api_key or is_loopback(config.host):
        return
    if not config.public_without_key:
        raise UnsafeStart(
            f"refusing to listen on {config.host} without an API key: set PLASTICVISION_API_KEY, "
            "or --public-without-key (PLASTICVISION_PUBLIC_WITHOUT_KEY=true) if anyone may use it"
        )
    log.warning("listening on %s without an API key, on purpose: anyone who can reach it can use it", config.host)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from plasticvision.server import create_app
    from plasticvision.server.middleware.log_redaction import install_redaction
    from plasticvision.server.middleware.logging_json import configure_logging
    from plasticvision.server.memory import limit_malloc_arenas
    from plasticvision.server.serving import uvicorn_config

    config = load_config(args)
    check_exposure(config)
    install_redaction([config.api_key, config.metrics_token, config.session_secret])  # before the first line
    configure_logging(config.log_format, logging.DEBUG if args.verbose else logging.INFO)
    limit_malloc_arenas(config.malloc_arenas)  # before the engine and the pools start their threads
    app = create_app(config)  # loads the engine and logs which one was chosen and why
    uvicorn.Server(uvicorn_config(app, config)).run()
    return 0
