"""Who may open a WebRTC stream: the same key, origin, session and stream-slot rules as the WebSocket.

One function, so the hardened edge (server-issued sessions, per-client slots) replaces its body
without touching the routes: a WebRTC connection holds a stream slot exactly as a WebSocket does,
from the 201 until DELETE or the connection's end.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

from starlette.requests import Request

from plasticvision.api import FaceSwapper
from plasticvision.config import ServerConfig
from plasticvision.engines.pool import Replica
from plasticvision.pipeline.session import SwapSession
from plasticvision.server.client_limits import STREAM, ClientLimits, client_address
from plasticvision.server.deps import issue_session
from plasticvision.server.middleware.security import check_api_key, check_origin, presented_key
from plasticvision.server.sessions.registry import SessionRegistry

KEY_WHERE = "as Authorization: Bearer <key> (the WHIP way) or the X-API-Key header"


@dataclass
class Admission:
    """A granted stream: its session, the device replica it stays on, and what to release at the end."""

    session_id: str
    session: SwapSession
    replica: Replica
    held: ExitStack


def session_id_of(request: Request, registry: SessionRegistry) -> str:
    """The session from the X-Session-Id header or `?session=`, as the REST routes and the WebSocket take it:
    where sessions are required, only a server-issued one; none at all (OBS sends only its key) is
    issued one, answered in `X-Session-Id` and in the `Location`."""
    given = request.headers.get("x-session-id") or request.query_params.get("session")
    if not given and registry.require_session:
        given = issue_session(request)
    return registry.check_id(given)


def check_caller(request: Request, config: ServerConfig) -> None:
    """Origin and key: every WHIP/WHEP request, DELETE included."""
    check_origin(config, request.headers.get("origin"), request.headers.get("host"))
    check_api_key(config, presented_key(request.headers, request.scope.get("query_string", b"")), KEY_WHERE)


def admit(request: Request, registry: SessionRegistry, swapper: FaceSwapper) -> Admission:
    """Take a stream slot (the session's and the client address's, as a WebSocket does) and a replica
    for a caller `check_caller` let in; close `held` to give them back."""
    session_id = session_id_of(request, registry)
    limits: ClientLimits = request.app.state.client_limits
    held = ExitStack()
    try:
        held.enter_context(limits.hold(STREAM, client_address(request)))
        session = held.enter_context(registry.connect(session_id))
        replica = held.enter_context(swapper.pool.attach())
    except BaseException:
        held.close()
        raise
    return Admission(session_id, session, replica, held)
