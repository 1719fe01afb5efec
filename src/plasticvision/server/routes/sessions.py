"""`POST /sessions`: a new session id, issued by the server (unguessable, signed), for the client to keep and send."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from plasticvision.server.deps import ApiKeyDep, issue_session
from plasticvision.server.schemas import ERROR_RESPONSES

router = APIRouter(tags=["sessions"], dependencies=[ApiKeyDep], responses=ERROR_RESPONSES)


class NewSession(BaseModel):
    session_id: str = Field(description="send it as X-Session-Id (REST) or ?session= (WebSocket, EventSource)")


@router.post("/sessions", response_model=NewSession, status_code=201)
async def new_session(request: Request) -> NewSession:
    """Nothing is stored until the session is first used; an unused id simply expires."""
    return NewSession(session_id=issue_session(request))
