"""`create_app`: one swapper, one worker pool and one session registry per app, wired to the routes.

Static files: the browser app in `plasticvision/web/` is served under `/static/` and its
`index.html` at `/` for clients that ask for HTML (JSON health otherwise). The web app's
files must therefore reference their assets as `/static/...` (e.g. `/static/app.js`).
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from plasticvision import __version__
from plasticvision.api import FaceSwapper
from plasticvision.config import ServerConfig, get_settings
from plasticvision.pipeline.timing import TimingStats
from plasticvision.server.errors import install_error_handlers
from plasticvision.server.client_limits import ClientLimits
from plasticvision.server.middleware.gate import Gate
from plasticvision.server.middleware.hosts import HostCheck
from plasticvision.server.metrics import Metrics, Readings
from plasticvision.server.middleware.ratelimit import RateLimit, RateLimiter
from plasticvision.server.middleware.request_log import RequestLog
from plasticvision.server.middleware.security import install_cors
from plasticvision.server.openapi import install_openapi
from plasticvision.server.routes import stream
from plasticvision.server.routes import faces, identities, metrics, models, settings, status, swap, video
from plasticvision.server.sessions.registry import SessionRegistry, open_store
from plasticvision.server.sessions.store import SessionStore
from plasticvision.server.sessions.sync import keep_alive
from plasticvision.server.routes import sessions as session_routes
from plasticvision.server.sessions.ids import SessionIds
from plasticvision.server.workers import Workers

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def create_app(config: ServerConfig | None = None, swapper: FaceSwapper | None = None) -> FastAPI:
    """The app; `config` defaults to the environment's, `swapper` to one built from the config."""
    config = config or get_settings()
    swapper = swapper or FaceSwapper(config.engine, models_dir=config.models_dir, devices=config.devices)
    workers = Workers(config.workers)
    store = open_store(config.redis_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sessions: SessionRegistry = app.state.sessions
        keeping = asyncio.create_task(keep_alive(sessions.sync, sessions.held))
        yield
        keeping.cancel()
        with suppress(asyncio.CancelledError):
            await keeping
        workers.shutdown()
        store.close()

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
    app.state.stream_stats = TimingStats()  # where a live frame's server time goes: waiting vs work
    app.state.sessions = SessionRegistry(
        swapper,
        max_sessions=config.max_sessions,
        idle_s=config.session_idle_s,
        max_connections=config.max_ws_connections,
        max_connections_per_session=config.max_ws_per_session,
        store=store,
        require_session=config.sessions_required,
        ids=SessionIds.for_server(config.session_secret, config.api_key),
    )
    app.state.client_limits = ClientLimits(config)
    app.state.rate_limiter = RateLimiter(RateLimit.parse(config.rate_limit)) if config.rate_limit else None
    app.state.web_dir = WEB_DIR
    app.state.metrics = watch(app, store)
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(Gate, config=config)  # key and body size on the headers, before any body byte
    install_cors(app, config)  # outside the gate, so its refusals carry CORS headers too
    app.add_middleware(HostCheck, config=config)
    app.add_middleware(RequestLog, metrics=app.state.metrics, access_log=config.log_format == "json")
    for module in (status, session_routes, faces, identities, settings, swap, stream, video, metrics, models):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=WEB_DIR, check_dir=False), name="static")
    return app


def watch(app: FastAPI, store: SessionStore) -> Metrics:
    """The app's metrics, reading the state gauges from the parts that own them."""
    swapper: FaceSwapper = app.state.swapper
    sessions: SessionRegistry = app.state.sessions
    info = swapper.info()
    device = "gpu" if info.get("gpu") else "cpu"

    def video_jobs() -> list[tuple[str, float]]:
        jobs = getattr(app.state, "video_jobs", None)  # started by the video router's lifespan
        return [] if jobs is None else [(record.state.value, record.fps) for record in jobs.all()]

    app_metrics = Metrics()
    app_metrics.watch(
        Readings(
            streams=lambda: sessions.connections,
            sessions=lambda: len(sessions),
            video_jobs=video_jobs,
            busy_threads=lambda: {device: app.state.workers.busy},
            store=lambda: (store.name, getattr(store, "up", True)),
        )
    )
    app_metrics.engine.info(
        {
            "engine": info["engine"],
            "providers": ",".join(info.get("providers", [])),
            "gpu": str(bool(info.get("gpu"))).lower(),
            "version": __version__,
        }
    )
    swapper.stats.listeners.append(app_metrics.observe_stages)
    return app_metrics
