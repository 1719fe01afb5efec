"""A WHIP/WHEP client on aiortc: push frames to `/whip`, take the swapped video back or play `/whep`.

What `plasticvision camera --transport webrtc`, the tests and the benchmarks use. Frames sent
carry their capture time above the picture (`plasticvision.client.stamp`), so each swapped frame that comes
back says how long it took, capture to arrival, whatever the codec and the network did to it.

    async with WhipClient("http://127.0.0.1:8000", api_key=..., session=...) as client:
        link = await client.publish(source)        # source(): the next BGR frame
        frame = await link.next_frame()             # Received: .image, .latency_ms
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import numpy as np
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from av import VideoFrame

from plasticvision.client import stamp as frame_stamp
from plasticvision.client.errors import ClientError, refusal
from plasticvision.client import jitter, live_encoder

SDP_TYPE = "application/sdp"
LINK = re.compile(r'<([^>]+)>\s*;\s*rel="ice-server"(.*)')
PARAM = re.compile(r'(\w[\w-]*)="([^"]*)"')


class StreamEnded(ClientError):
    """The server ended the connection's video (a WHEP player's WHIP stream was DELETEd, the server stopped)."""

    type = "stream_ended"


class NoTurnServer(ClientError):
    """`relay_only` was asked for, and the server names no TURN server to relay through."""

    type = "no_turn_server"


def monotonic_ms() -> float:
    return time.monotonic() * 1000


class StampedSource(VideoStreamTrack):
    """Frames from `source()` (BGR) at 30 fps, each with its capture time stamped above it."""

    def __init__(self, source: Callable[[], np.ndarray], clock: Callable[[], float] = monotonic_ms) -> None:
        super().__init__()
        self.source = source
        self.clock = clock
        self.sent = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        image = frame_stamp.stamp(self.source(), self.clock())
        frame = VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        self.sent += 1
        return frame


@dataclass(frozen=True, slots=True)
class Received:
    image: VideoFrame
    arrived_ms: float
    latency_ms: float | None  # capture to arrival; None when the frame carries no stamp

    def bgr(self) -> np.ndarray:
        """The picture without the stamp strip."""
        return frame_stamp.crop(self.image.to_ndarray(format="bgr24"))


@dataclass
class Link:
    """One WHIP or WHEP resource: its peer connection and what has arrived on it."""

    peer: RTCPeerConnection
    resource_url: str
    clock: Callable[[], float] = monotonic_ms
    frames: asyncio.Queue[Received | None] = field(default_factory=lambda: asyncio.Queue(maxsize=1))  # None: ended
    received: int = 0
    samples: list[tuple[float, float]] = field(default_factory=list)  # (arrived ms, latency ms)
    task: asyncio.Task | None = None

    def watch(self, track) -> None:  # noqa: ANN001 - aiortc's RemoteStreamTrack
        self.task = asyncio.create_task(self.consume(track))

    async def consume(self, track) -> None:  # noqa: ANN001
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                self.put_newest(None)
                return
            now = self.clock()
            luma = np.frombuffer(frame.planes[0], np.uint8).reshape(-1, frame.planes[0].line_size)[:, : frame.width]
            stamped = frame_stamp.read(luma[: frame.height])
            latency = None if stamped is None else frame_stamp.elapsed_ms(now, stamped)
            self.received += 1
            if latency is not None:
                self.samples.append((now, latency))
            self.put_newest(Received(frame, now, latency))

    def put_newest(self, item: Received | None) -> None:
        if self.frames.full():  # newest wins: a reader that falls behind skips frames
            self.frames.get_nowait()
        self.frames.put_nowait(item)

    async def next_frame(self, timeout_s: float = 10.0) -> Received:
        """The newest frame; StreamEnded once the video has ended."""
        received = await asyncio.wait_for(self.frames.get(), timeout_s)
        if received is None:
            self.frames.put_nowait(None)  # ended for every later call too
            raise StreamEnded("the server ended the video")
        return received
    async def stats(self) -> dict[str, float]:
        """Bytes and packets each way, and packets lost, from the connection's RTP statistics (aiortc counts
        no bytes received, so that is what the server's sender reports say it sent)."""
        report = await self.peer.getStats()
        totals = {"bytes_sent": 0.0, "bytes_received": 0.0, "packets_received": 0.0, "packets_lost": 0.0}
        for item in report.values():
            if item.type == "outbound-rtp":
                totals["bytes_sent"] += item.bytesSent
            elif item.type == "remote-outbound-rtp":
                totals["bytes_received"] += item.bytesSent
            elif item.type == "inbound-rtp":
                totals["packets_received"] += item.packetsReceived
                totals["packets_lost"] += item.packetsLost
        return totals


def refused(path: str, response: httpx.Response) -> ClientError:
    """The typed failure for a refused offer, by the server's `type` (an API key, a session, the rest)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = body.get("detail", response.text) if isinstance(body, dict) else response.text
    return refusal(str(body.get("type", "")) if isinstance(body, dict) else "", detail, response.status_code, path)


def ice_servers_from(links: list[str]) -> list[RTCIceServer]:
    """RTCIceServers from a WHIP answer's (or OPTIONS') `Link: <url>; rel="ice-server"` headers."""
    servers = []
    for link in links:
        for part in re.split(r",\s*(?=<)", link):
            match = LINK.match(part.strip())
            if match:
                params = dict(PARAM.findall(match.group(2)))
                servers.append(RTCIceServer(match.group(1), params.get("username"), params.get("credential")))
    return servers


def prefer(peer: RTCPeerConnection, codec: str | None) -> None:
    """Offer `codec` ("VP8" or "H264") first, the other after it; None keeps aiortc's order (VP8, H264)."""
    if codec is None:
        return
    codecs = RTCRtpSender.getCapabilities("video").codecs
    ordered = sorted(codecs, key=lambda c: c.mimeType.lower() != f"video/{codec.lower()}")
    for transceiver in peer.getTransceivers():
        if transceiver.kind == "video":
            transceiver.setCodecPreferences(ordered)


class WhipClient:
    """Talks to one server; every resource it opens is DELETEd (and its connection closed) on exit."""

    def __init__(
        self,
        server_url: str,
        *,
        api_key: str | None = None,
        session: str | None = None,
        relay_only: bool = False,
        codec: str | None = None,
        clock: Callable[[], float] = monotonic_ms,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.headers = {"Content-Type": SDP_TYPE}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        if session:
            self.headers["X-Session-Id"] = session
        self.relay_only = relay_only  # TURN only: every packet goes the way the server's Link headers say
        self.codec = codec
        self.clock = clock
        self.http = httpx.AsyncClient(timeout=30)
        self.links: list[Link] = []

    async def __aenter__(self) -> WhipClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def publish(self, source: Callable[[], np.ndarray], receive: bool = True, audio: bool = False) -> Link:
        """Push `source`'s frames (sendrecv: and take the swapped ones back; sendonly, as OBS does);
        `audio` offers an audio section too, as OBS's does (no sound is sent)."""
        peer = await self.new_peer()
        track = StampedSource(source, self.clock)
        peer.addTransceiver(track, direction="sendrecv" if receive else "sendonly")
        if audio:
            peer.addTransceiver("audio", direction="sendonly")
        return await self.negotiate(peer, "/whip")

    async def play(self, endpoint: str = "/whep") -> Link:
        """Receive the session's swapped video from the WHEP `endpoint` (a path on the server, a query allowed)."""
        peer = await self.new_peer()
        peer.addTransceiver("video", direction="recvonly")
        return await self.negotiate(peer, endpoint)

    async def new_peer(self) -> RTCPeerConnection:
        ice = []
        if self.relay_only:
            response = await self.http.options(self.server_url + "/whip", headers=self.headers)
            ice = ice_servers_from(response.headers.get_list("link"))
            if not ice:
                raise NoTurnServer("relay_only needs the server to name a TURN server (PLASTICVISION_ICE_SERVERS)")
        policy = RTCIceTransportPolicy.RELAY if self.relay_only else RTCIceTransportPolicy.ALL
        return RTCPeerConnection(RTCConfiguration(iceServers=ice, iceTransportPolicy=policy))

    async def negotiate(self, peer: RTCPeerConnection, path: str) -> Link:
        prefer(peer, self.codec)
        jitter.use_live_receiver(peer)
        link = Link(peer, "", self.clock)
        peer.on("track", lambda track: link.watch(track) if track.kind == "video" else None)
        await peer.setLocalDescription(await peer.createOffer())
        response = await self.http.post(self.server_url + path, content=peer.localDescription.sdp, headers=self.headers)
        if response.status_code != 201:
            await peer.close()
            raise refused(path, response)
        link.resource_url = self.server_url + response.headers["location"]
        await peer.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
        live_encoder.use_live_encoder(peer)
        self.links.append(link)
        return link

    async def end(self, link: Link) -> httpx.Response:
        """DELETE the resource and close the connection."""
        self.links.remove(link)
        headers = {k: v for k, v in self.headers.items() if k != "Content-Type"}
        try:
            return await self.http.delete(link.resource_url, headers=headers)
        finally:
            if link.task is not None:
                link.task.cancel()
            await link.peer.close()

    async def close(self) -> None:
        for link in list(self.links):
            await self.end(link)
        await self.http.aclose()
