"""`POST /whip`, `POST /whep` and `DELETE` on the resources they create (RFC 9725 WHIP; WHEP draft).

A WHIP offer that is `sendrecv` (the page) gets the swapped video back on the same connection;
a `sendonly` one (OBS) is played to WHEP players of the same session. Each answer is complete
(aiortc gathers every candidate before answering), so the server never trickles; a client that
does sends its late candidates by `PATCH` on the resource (RFC 8840 fragments): `204`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from starlette.requests import HTTPConnection

from plasticvision.config import ServerConfig
from plasticvision.server.deps import ConfigDep, RegistryDep, SwapperDep, WorkersDep
from plasticvision.server.openapi import Responses, error_responses
from plasticvision.server.webrtc.admission import admit, check_caller, session_id_of
from plasticvision.server.webrtc.ice import link_headers
from plasticvision.server.webrtc.peers import Peers, Resource
from plasticvision.server.webrtc.relay import Broadcast, FrameRelay
from plasticvision.server.webrtc.sdp import SDP_TYPE, TRICKLE_TYPE, parse_offer, parse_trickle


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.webrtc_peers = Peers()
    yield
    await app.state.webrtc_peers.close_all()


async def get_peers(connection: HTTPConnection) -> Peers:
    return connection.app.state.webrtc_peers


PeersDep = Annotated[Peers, Depends(get_peers)]
router = APIRouter(tags=["webrtc"], lifespan=lifespan)

SDP_BODY = {"required": True, "content": {SDP_TYPE: {"schema": {"type": "string"}}}}
ANSWER: Responses = {
    201: {
        "description": "the SDP answer; `Location` is the resource to DELETE when done",
        "content": {SDP_TYPE: {"schema": {"type": "string"}}},
    },
    **error_responses(404, 415),
}


def answered(resource: Resource, sdp: str, config: ConfigDep) -> Response:
    """201 with the answer; the Location names the session too, so a proxy that routes by session (the
    nginx config in deploy/) sends a DELETE from a client that cannot set headers (OBS) to the right replica."""
    location = f"/{resource.kind}/{resource.id}?{urlencode({'session': resource.session_id})}"
    headers = {"Location": location, "ETag": f'"{resource.id}"'}
    response = Response(sdp, status_code=201, media_type=SDP_TYPE, headers=headers)
    for link in link_headers(config):
        response.headers.append("Link", link)
    return response


@router.post("/whip", status_code=201, responses=ANSWER, openapi_extra={"requestBody": SDP_BODY})
async def whip(
    request: Request,
    config: ConfigDep,
    registry: RegistryDep,
    swapper: SwapperDep,
    workers: WorkersDep,
    peers: PeersDep,
) -> Response:
    """Send your camera (SDP offer, `Authorization: Bearer <key>`); a sendrecv offer gets the swapped video back."""
    check_caller(request, config)  # before the body: a stranger's upload is not read
    offer = parse_offer(request.headers.get("content-type"), await request.body())
    admission = await asyncio.to_thread(admit, request, registry, swapper)  # a remote store's round trips

    def relay(broadcast: Broadcast) -> FrameRelay:
        return FrameRelay(
            admission.session, admission.replica, workers, request.app.state.metrics, broadcast,
            config.stream_parallel_frames, config.max_image_pixels,
        )

    try:
        resource, sdp = await peers.ingest(offer, admission, relay)
    except BaseException:
        admission.held.close()  # the slot goes back at once (a second close is a no-op)
        raise
    return answered(resource, sdp, config)


@router.post("/whep", status_code=201, responses=ANSWER, openapi_extra={"requestBody": SDP_BODY})
async def whep(request: Request, config: ConfigDep, registry: RegistryDep, peers: PeersDep) -> Response:
    """Play your session's swapped video (a receive-only SDP offer): OBS, a second page, `camera --whep`."""
    check_caller(request, config)
    offer = parse_offer(request.headers.get("content-type"), await request.body())
    resource, sdp = await peers.play(offer, session_id_of(request, registry))
    return answered(resource, sdp, config)


@router.options(
    "/whip", status_code=204, responses={204: {"description": "ICE servers in `Link` headers"}, **error_responses()}
)
async def whip_options(request: Request, config: ConfigDep) -> Response:
    """The STUN/TURN servers to use, as `Link: <turn:...>; rel="ice-server"` headers, before making an offer.
    Behind the key: TURN credentials are a relay anyone holding them may use."""
    check_caller(request, config)
    response = Response(status_code=204, headers={"Accept-Post": SDP_TYPE})
    for link in link_headers(config):
        response.headers.append("Link", link)
    return response


TRICKLE_BODY = {"required": True, "content": {TRICKLE_TYPE: {"schema": {"type": "string"}}}}


async def trickle(kind: str, resource_id: str, request: Request, config: ServerConfig, peers: Peers) -> Response:
    """Trickle ICE: the client's late candidates (`a=candidate:` lines of an SDP fragment) for its connection."""
    check_caller(request, config)
    resource = peers.get(kind, resource_id)
    await peers.trickle(resource, parse_trickle(request.headers.get("content-type"), await request.body()))
    return Response(status_code=204)


TRICKLE = {"status_code": 204, "responses": error_responses(404, 415), "openapi_extra": {"requestBody": TRICKLE_BODY}}


@router.patch("/whip/{resource_id}", **TRICKLE)
async def trickle_whip(resource_id: str, request: Request, config: ConfigDep, peers: PeersDep) -> Response:
    """Trickle ICE for a WHIP stream: the client's late candidates, as an `application/trickle-ice-sdpfrag`."""
    return await trickle("whip", resource_id, request, config, peers)


@router.patch("/whep/{resource_id}", **TRICKLE)
async def trickle_whep(resource_id: str, request: Request, config: ConfigDep, peers: PeersDep) -> Response:
    """Trickle ICE for a WHEP player: the client's late candidates, as an `application/trickle-ice-sdpfrag`."""
    return await trickle("whep", resource_id, request, config, peers)


@router.delete("/whip/{resource_id}", status_code=200, responses=error_responses(404))
async def end_whip(resource_id: str, request: Request, config: ConfigDep, peers: PeersDep) -> Response:
    """End the stream: the connection, its swap task and its stream slot are freed at once."""
    check_caller(request, config)
    await peers.close(peers.get("whip", resource_id))
    return Response(status_code=200)


@router.delete("/whep/{resource_id}", status_code=200, responses=error_responses(404))
async def end_whep(resource_id: str, request: Request, config: ConfigDep, peers: PeersDep) -> Response:
    """Stop playing."""
    check_caller(request, config)
    await peers.close(peers.get("whep", resource_id))
    return Response(status_code=200)
