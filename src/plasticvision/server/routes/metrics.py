"""`GET /metrics`: the Prometheus exposition, behind its own bearer token or else the API key.

Prometheus sends `Authorization: Bearer <token>` (its `authorization` scrape option); the API
key also works as `X-API-Key`, so one header opens every endpoint for an operator's tools.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from plasticvision.server.deps import ConfigDep
from plasticvision.server.middleware.security import ApiKeyInvalid, ApiKeyMissing, check_api_key
from plasticvision.server.schemas import ERROR_RESPONSES

router = APIRouter(tags=["status"], responses=ERROR_RESPONSES)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(
    request: Request,
    config: ConfigDep,
    authorization: Annotated[str | None, Header(description="Bearer <PLASTICVISION_METRICS_TOKEN or API key>")] = None,
    api_key: Annotated[str | None, Header(alias="X-API-Key", description="the API key, when the server has one")] = None,
) -> Response:
    """Counters, histograms and gauges of streams, swaps, video jobs, requests and the session store."""
    scheme, _, bearer = (authorization or "").partition(" ")
    bearer = bearer.strip() if scheme.lower() == "bearer" else ""
    if config.metrics_token:
        if not bearer:
            raise ApiKeyMissing("metrics need the token: send Authorization: Bearer <PLASTICVISION_METRICS_TOKEN>")
        if not secrets.compare_digest(bearer.encode(), config.metrics_token.encode()):
            raise ApiKeyInvalid("the metrics token is not valid")
    else:
        check_api_key(config, api_key or bearer, "in the X-API-Key header or as Authorization: Bearer <key>")
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
