"""The WHIP and WHEP resources alive now: each a peer connection and what it holds.

A resource ends on DELETE, when its connection fails or closes, or at server shutdown; ending
frees everything it holds (the peer connection and its sockets, the swap task, the stream slot
and the replica), once. Ingests are found by id (the Location) and by session (WHEP plays the
newest ingest of a session).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp
from aiortc.rtcrtpreceiver import RemoteStreamTrack

from plasticvision.client import jitter, live_encoder
from plasticvision.errors import PlasticVisionError
from plasticvision.server.webrtc.admission import Admission
from plasticvision.server.webrtc.relay import Broadcast, FrameRelay, ViewerTrack
from plasticvision.server.webrtc.sdp import BadCandidates, BadOffer, Direction, Offer

log = logging.getLogger(__name__)

ENDED_STATES = {"failed", "closed"}


class ResourceNotFound(PlasticVisionError):
    """A WHIP/WHEP resource that ended (DELETE, a failed connection) or never existed."""

    type = "unknown_resource"


class NothingToPlay(PlasticVisionError):
    """A WHEP request for a session with no WHIP stream."""

    type = "nothing_to_play"


@dataclass
class Resource:
    id: str
    kind: str  # "whip" or "whep"
    session_id: str
    peer: RTCPeerConnection
    release: Callable[[], None] = lambda: None
    broadcast: Broadcast | None = None  # ingests only
    task: asyncio.Task | None = None
    closed: bool = False
    viewers: set[str] = field(default_factory=set)


class Peers:
    """Resources by id; `ice_servers` (STUN/TURN URLs) go to every peer connection."""

    def __init__(self, ice_servers: list[RTCIceServer] | None = None) -> None:
        self.configuration = RTCConfiguration(iceServers=ice_servers or [])
        self.resources: dict[str, Resource] = {}

    def __len__(self) -> int:
        return len(self.resources)

    def get(self, kind: str, resource_id: str) -> Resource:
        resource = self.resources.get(resource_id)
        if resource is None or resource.kind != kind:
            raise ResourceNotFound(f"no {kind.upper()} resource {resource_id}: it ended or never existed")
        return resource

    async def ingest(
        self, offer: Offer, admission: Admission, start_relay: Callable[[Broadcast], FrameRelay]
    ) -> tuple[Resource, str]:
        """A WHIP resource for `offer`: its frames swap into a broadcast that the sendrecv offerer sees too."""
        if offer.direction is Direction.RECVONLY:
            raise BadOffer("a WHIP offer must send video (sendrecv or sendonly); to play, POST the offer to /whep")
        broadcast = Broadcast()
        resource = self.new("whip", admission.session_id, admission.held.close)
        resource.broadcast = broadcast
        relay = start_relay(broadcast)
        peer = resource.peer

        @peer.on("track")
        def on_track(track: RemoteStreamTrack) -> None:
            if track.kind == "video" and resource.task is None:
                resource.task = asyncio.create_task(self.relay_until_end(resource, relay.run(track)))

        viewer = ViewerTrack(broadcast) if offer.direction is Direction.SENDRECV else None
        answer = await self.answer(resource, offer, viewer)
        return resource, answer

    async def play(self, offer: Offer, session_id: str) -> tuple[Resource, str]:
        """A WHEP resource that receives the newest ingest of `session_id`."""
        if offer.direction is not Direction.RECVONLY:
            raise BadOffer("a WHEP offer must be receive-only video (a=recvonly)")
        source = self.newest_ingest(session_id)
        resource = self.new("whep", session_id)
        source.viewers.add(resource.id)
        return resource, await self.answer(resource, offer, viewer=ViewerTrack(source.broadcast))

    def newest_ingest(self, session_id: str) -> Resource:
        for resource in reversed(self.resources.values()):
            if resource.kind == "whip" and resource.session_id == session_id and not resource.closed:
                return resource
        raise NothingToPlay(f"session '{session_id}' has no WHIP stream to play: start one with POST /whip first")

    def new(self, kind: str, session_id: str, release: Callable[[], None] = lambda: None) -> Resource:
        resource = Resource(secrets.token_urlsafe(16), kind, session_id, RTCPeerConnection(self.configuration), release)
        self.resources[resource.id] = resource

        @resource.peer.on("connectionstatechange")
        async def on_state() -> None:
            if resource.peer.connectionState in ENDED_STATES:
                log.info("webrtc %s %s: connection %s", kind, resource.id, resource.peer.connectionState)
                await self.close(resource)

        return resource

    async def answer(self, resource: Resource, offer: Offer, viewer: ViewerTrack | None) -> str:
        """Apply the offer, add the viewer track on its video transceiver, and return the complete answer."""
        peer = resource.peer
        try:
            await peer.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
            jitter.use_live_receiver(peer)
            video = next(t for t in peer.getTransceivers() if t.kind == "video")
            for other in peer.getTransceivers():
                if other is not video:  # OBS sends audio too: refuse it, or its decoded frames pile up unread
                    other.direction = "inactive"
            if viewer is not None:
                video.sender.replaceTrack(viewer)
                video.direction = "sendrecv" if offer.direction is Direction.SENDRECV else "sendonly"
            await peer.setLocalDescription(await peer.createAnswer())  # aiortc gathers all candidates here
            live_encoder.use_live_encoder(peer)
        except PlasticVisionError:
            await self.close(resource)
            raise
        except (ValueError, KeyError, AssertionError, AttributeError, TypeError, IndexError) as exc:
            await self.close(resource)
            # aiortc refused it (no codec in common, a line it parses further than we do)
            raise BadOffer(f"the SDP offer cannot be used: {exc or type(exc).__name__}") from exc
        return peer.localDescription.sdp

    async def trickle(self, resource: Resource, candidates: list[tuple[str | None, str]]) -> None:
        """Add the remote candidates of a trickle PATCH (a candidate without a mid is for the video)."""
        video = next(t.mid for t in resource.peer.getTransceivers() if t.kind == "video")
        for mid, text in candidates:
            try:
                candidate = candidate_from_sdp(text)
                candidate.sdpMid = mid or video
                await resource.peer.addIceCandidate(candidate)
            except (ValueError, IndexError, KeyError, AssertionError) as exc:  # aiortc asserts on a short line
                raise BadCandidates(
                    f"cannot add the candidate '{text[:80]}' ({str(exc) or 'too short'}): a=candidate: takes "
                    "'foundation component transport priority address port typ type', as RFC 8839 says"
                ) from exc

    async def relay_until_end(self, resource: Resource, relaying: Awaitable[None]) -> None:
        try:
            await relaying
        except Exception:  # a bug, not the peer's doing: log it and end the resource rather than hang
            log.exception("webrtc ingest %s failed", resource.id)
        await self.close(resource)

    async def close(self, resource: Resource) -> None:
        """End a resource and free what it holds; an ingest's players end with it."""
        if resource.closed:
            return
        resource.closed = True
        self.resources.pop(resource.id, None)
        if resource.task is not None and resource.task is not asyncio.current_task():
            resource.task.cancel()
        if resource.broadcast is not None:
            await resource.broadcast.end()
        try:
            await resource.peer.close()
        finally:
            resource.release()
        for viewer_id in list(resource.viewers):
            if viewer_id in self.resources:
                await self.close(self.resources[viewer_id])

    async def close_all(self) -> None:
        for resource in list(self.resources.values()):
            await self.close(resource)
