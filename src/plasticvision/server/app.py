"""`create_app`: one swapper, one worker pool and one session registry per app, wired to the routes.

Static files: the browser app in `plasticvision/web/` is served under `/static/` and its
`index.html` at `/` for clients that ask for HTML (JSON health otherwise). The web app's
files must therefore reference their assets as `/static/...` (e.g. `/static/app.js`).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from plasticvision import __version__
from plasticvision.api import FaceSwapper
from plasticvision.config import ServerConfig, get_settings
from plasticvision.server import stream
from plasticvision.server.errors import install_error_handlers
from plasticvision.server.limits import BodyLimit
from plasticvision.server.ratelimit import RateLimit, RateLimiter
from plasticvision.server.routes import faces, settings, status, swap, video
from plasticvision.server.security import install_cors
from plasticvision.server.sessions import SessionRegistry
from plasticvision.server.workers import Workers

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def create_app(config: ServerConfig | None = None, swapper: FaceSwapper | None = None) -> FastAPI:
    """The app; `config` defaults to the environment's, `swapper` to one built from the config."""
    config = config or get_settings()
    swapper = swapper or FaceSwapper(config.engine, models_dir=config.models_dir)
    workers = Workers(config.workers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        workers.shutdown()

    app = FastAPI(
        title="PlasticVision",
        version=__version__,
        summary="Real-time face swap: REST for images, a WebSocket for live streams.",
        lifespan=lifespan,
    )
    app.dependency_overrides[get_settings] = lambda: config
    app.state.config = config
    app.state.swapper = swapper
    app.state.workers = workers
    app.state.sessions = SessionRegistry(
        swapper,
        max_sessions=config.max_sessions,
        idle_s=config.session_idle_s,
        max_connections=config.max_ws_connections,
        max_connections_per_session=config.max_ws_per_session,
        require_session=config.require_session,
    )
    app.state.rate_limiter = RateLimiter(RateLimit.parse(config.rate_limit)) if config.rate_limit else None
    app.state.web_dir = WEB_DIR
    install_error_handlers(app)
    app.add_middleware(BodyLimit, config=config)
    install_cors(app, config)  # outermost, so refusals carry CORS headers too
    for module in (status, faces, settings, swap, stream, video):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=WEB_DIR, check_dir=False), name="static")
    return app
