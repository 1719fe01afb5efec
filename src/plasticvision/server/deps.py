"""Dependencies as `Annotated` aliases, so handlers declare what they need and tests override it.

The config comes from the cached `get_settings()`; `create_app(config)` overrides it, so
every dependency and the app's own limits read the same object. The dependencies are
`async` because they never block: sync ones would each cost a hop through a thread pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header
from starlette.requests import HTTPConnection

from plasticvision.api import FaceSwapper
from plasticvision.config import ServerConfig, get_settings
from plasticvision.pipeline.session import SwapSession
from plasticvision.server.metrics import Metrics
from plasticvision.server.middleware.security import check_api_key
from plasticvision.server.sessions.registry import SessionRegistry
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


SwapperDep = Annotated[FaceSwapper, Depends(get_swapper)]
RegistryDep = Annotated[SessionRegistry, Depends(get_registry)]
WorkersDep = Annotated[Workers, Depends(get_workers)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
SessionIdHeader = Annotated[
    str | None, Header(alias="X-Session-Id", description="your session; none = the shared 'default' session")
]


async def get_session(registry: RegistryDep, session_id: SessionIdHeader = None) -> SwapSession:
    return await registry.get_async(session_id)


SessionDep = Annotated[SwapSession, Depends(get_session)]


async def require_api_key(
    config: ConfigDep,
    api_key: Annotated[str | None, Header(alias="X-API-Key", description="needed when the server has a key")] = None,
) -> None:
    check_api_key(config, api_key, "in the X-API-Key header")


ApiKeyDep = Depends(require_api_key)
