"""`web`: serve the browser app on its own, pointed at a PlasticVision server elsewhere.

The page reads its default server URL from `/static/config.js`; here that file is generated
from `--server`, so the same static files work behind the server (same origin) and alone.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
DEFAULT_SERVER = "http://127.0.0.1:8000"


def register(commands: argparse._SubParsersAction) -> None:
    web = commands.add_parser("web", help="serve the browser app on its own, pointed at a server")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    web.add_argument("--port", type=int, default=3000, help="port to listen on (default: 3000)")
    web.add_argument(
        "--server", type=server_url, default=DEFAULT_SERVER,
        help=f"the PlasticVision server the page talks to (default: {DEFAULT_SERVER}); editable in the page",
    )
    web.set_defaults(run=run_web)


def server_url(text: str) -> str:
    """An http(s) URL without a trailing slash; anything else is a usage error."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"expected a URL like {DEFAULT_SERVER}, got {text!r}")
    return text.strip().rstrip("/")


def create_web_app(server: str) -> Starlette:
    """The static app, with a config module telling the page which server to use."""
    config_module = f"export const defaultServer = {json.dumps(server)};\n"

    async def index(request: Request) -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", media_type="text/html")

    async def config(request: Request) -> Response:
        return Response(config_module, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/static/config.js", config),
            Mount("/static", StaticFiles(directory=WEB_DIR), name="static"),
        ]
    )


def run_web(args: argparse.Namespace) -> int:
    import uvicorn

    page = f"http://{args.host}:{args.port}"
    print(f"PlasticVision web app on {page}/ talking to {args.server}")
    print(f"The server must allow this page: plasticvision serve --cors-origins {page}")
    uvicorn.run(create_web_app(args.server), host=args.host, port=args.port, log_level="warning")
    return 0
