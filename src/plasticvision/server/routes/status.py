"""`GET /` (health, or the browser app for HTML clients) and `GET /status` (engine and session state)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from plasticvision import __version__
from plasticvision.server.deps import ApiKeyDep, RegistryDep, SessionDep, SessionIdHeader, SwapperDep
from plasticvision.server.schemas import ERROR_RESPONSES, Health, Status
from plasticvision.server.sessions.registry import check_session_id

router = APIRouter(tags=["status"])


def accept_quality(accept: str, media_type: str) -> float:
    """The q-value `accept` gives `media_type`, by its most specific matching range."""
    kind = media_type.split("/")[0]
    best, quality = -1, 0.0
    for item in accept.split(","):
        mime, *params = (part.strip() for part in item.split(";"))
        rank = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(mime.lower(), -1)
        if rank > best:
            q = next((p[2:] for p in params if p.startswith("q=")), "1")
            try:
                best, quality = rank, float(q)
            except ValueError:
                continue
    return quality


def prefers_html(accept: str) -> bool:
    return accept_quality(accept, "text/html") > accept_quality(accept, "application/json")


@router.get("/", response_model=Health, responses={200: {"content": {"text/html": {}}}})
async def health(request: Request, response: Response, swapper: SwapperDep) -> Health | FileResponse:
    """Health check, always open. Browsers (Accept: text/html) get the web app instead.

    `Vary: Accept` stops a browser cache from answering the page's own JSON `fetch('/')` with HTML.
    """
    index = request.app.state.web_dir / "index.html"
    response.headers["Vary"] = "Accept"
    if prefers_html(request.headers.get("accept", "")) and index.is_file():
        return FileResponse(index, media_type="text/html", headers={"Vary": "Accept"})
    info = swapper.info()
    return Health(status="ok", gpu=info["gpu"], engine_ready=True, engine=info["engine"], version=__version__)


@router.get("/status", response_model=Status, dependencies=[ApiKeyDep], responses=ERROR_RESPONSES)
async def get_status(
    request: Request,
    swapper: SwapperDep, registry: RegistryDep, session: SessionDep, session_id: SessionIdHeader = None
) -> Status:
    """The engine, your session's faces and settings, and recent per-stage timings."""
    info = swapper.info()
    return Status(
        gpu=info["gpu"],
        engine=info["engine"],
        engine_reason=info["engine_reason"],
        providers=info["providers"],
        provider_warning=info.get("provider_warning"),
        faces_loaded=session.faces_loaded,
        settings=session.settings,
        timings_ms=swapper.stats.medians(),
        stream_ms=request.app.state.stream_stats.medians(),
        sessions=len(registry),
        stream_connections=registry.connections,
        session_id=check_session_id(session_id),
        devices=swapper.pool.status(),
        models=info.get("models"),
    )
