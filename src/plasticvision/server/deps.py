"""Dependencies as `Annotated` aliases, so handlers declare what they need and tests override it.

The config comes from the cached `get_settings()`; `create_app(config)` overrides it, so
every dependency and the app's own limits read the same object. The dependencies are
`async` because they never block: sync ones would each cost a hop through a thread pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header
from starlette.requests import HTTPConnection, Request

from plasticvision.api import FaceSwapper
from plasticvision.config import ServerConfig, get_settings
from plasticvision.pipeline.session import SwapSession
from plasticvision.server.client_limits import ClientLimits, client_address
from plasticvision.server.metrics import Metrics
from plasticvision.server.middleware.gate import ISSUED_SESSION, KEY_WHERE
from plasticvision.server.middleware.security import check_api_key, presented_key
from plasticvision.server.sessions.registry import SESSION_ID, SessionRegistry
from plasticvision.server.uploads import Decoder
from plasticvision.server.workers import Workers

ConfigDep = Annotated[ServerConfig, Depends(get_settings)]


async def get_swapper(connection: HTTPConnection) -> FaceSwapper:
    return connection.app.state.swapper


async def get_registry(connection: HTTPConnection) -> SessionRegistry:
    return connection.app.state.sessions


async def get_workers(connection: HTTPConnection) -> Workers:
    return connection.app.state.workers


async def get_metrics(connection: HTTPConnection) -> Metrics:
    return connection.app.state.metrics


async def get_decoder(connection: HTTPConnection) -> Decoder:
    """A fresh one per request (FastAPI caches it within the request): the request's pixel budget."""
    return Decoder(connection.app.state.config, connection.app.state.workers)


async def get_client_limits(connection: HTTPConnection) -> ClientLimits:
    return connection.app.state.client_limits


SwapperDep = Annotated[FaceSwapper, Depends(get_swapper)]
RegistryDep = Annotated[SessionRegistry, Depends(get_registry)]
WorkersDep = Annotated[Workers, Depends(get_workers)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ClientLimitsDep = Annotated[ClientLimits, Depends(get_client_limits)]
DecoderDep = Annotated[Decoder, Depends(get_decoder)]
SessionIdHeader = Annotated[
    str | None,
    Header(
        alias="X-Session-Id",
        description="your session, from POST /sessions; none = a new one is issued (X-Session-Id in the answer) "
        "where sessions are required, else the shared 'default' session",
        json_schema_extra={"pattern": SESSION_ID.pattern},  # documented; the registry checks it, naming the rule
    ),
]
READ_METHODS = frozenset({"GET", "HEAD"})


def issue_session(connection: HTTPConnection) -> str:
    """A new server-issued id for this client (within its share), also sent back as `X-Session-Id`."""
    registry: SessionRegistry = connection.app.state.sessions
    connection.app.state.client_limits.admit_session(client_address(connection))
    session_id = registry.ids.mint()
    setattr(connection.state, ISSUED_SESSION, session_id)
    return session_id


def session_id_of(connection: HTTPConnection, given: str | None) -> str | None:
    """The id the request gave, or the one issued to it earlier in this request."""
    return given or getattr(connection.state, ISSUED_SESSION, None)


async def get_session(request: Request, registry: RegistryDep, session_id: SessionIdHeader = None) -> SwapSession:
    """Reads see a session without creating it; a write without an id gets a new one when ids are required."""
    if request.method in READ_METHODS:
        return await registry.peek_async(session_id)
    if not session_id_of(request, session_id) and registry.require_session:
        issue_session(request)
    return await registry.get_async(session_id_of(request, session_id))


SessionDep = Annotated[SwapSession, Depends(get_session)]


async def require_api_key(
    connection: HTTPConnection,
    config: ConfigDep,
    api_key: Annotated[
        str | None,
        Header(alias="X-API-Key", description="needed when the server has a key (or Authorization: Bearer, ?api_key=)"),
    ] = None,
) -> None:
    """The gate has checked the key already; this names it in the OpenAPI document and guards
    apps mounted without the gate. Same sources as the gate: header, bearer token or query."""
    check_api_key(config, presented_key(connection.headers, connection.scope.get("query_string", b"")), KEY_WHERE)


ApiKeyDep = Depends(require_api_key)
