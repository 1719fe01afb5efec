"""The camera command's swapper over WebRTC (`--transport webrtc`): a WHIP connection to the server.

The camera loop is synchronous; the WHIP client lives on an asyncio loop in its own thread. The
newest camera frame is what the connection sends next (the track asks for a frame 30 times a
second, so a slower camera repeats its last one, and a faster one skips): latest frame wins, as
the codec wants a steady pace. Swapped frames come back with their capture time read from the
stamp above each frame, so the loop's latency is end to end as over the WebSocket.
"""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np

from plasticvision.camera.frames import CameraFrame
from plasticvision.client.webrtc import Link, WhipClient

CONNECT_TIMEOUT_S = 30.0
FINISH_S = 3.0  # at most this long to collect the frames still on their way at the end
QUIET_S = 0.3  # no frame for this long: the last one has come back


class WebRTCSwapper:
    """Swaps on a server over a sendrecv WHIP connection; `close()` DELETEs it."""

    in_flight = 0  # the codec's pipeline has no per-frame window to report

    def __init__(
        self, server: str, *, api_key: str | None, session: str, size: tuple[int, int], codec: str | None = None
    ) -> None:
        self.latest = np.zeros((size[1], size[0], 3), np.uint8)  # black until the camera's first frame
        self.started = time.monotonic()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="webrtc-client", daemon=True)
        self.thread.start()
        self.client = WhipClient(server, api_key=api_key, session=session, codec=codec)
        self.link: Link = self.call(self.client.publish(lambda: self.latest), CONNECT_TIMEOUT_S)

    def call(self, coroutine, timeout: float | None = None):  # noqa: ANN001, ANN201 - any coroutine's result
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def send(self, frame: CameraFrame, *, wait: bool) -> None:
        self.latest = frame.image

    def ready(self) -> list[CameraFrame]:
        return [self.camera_frame(received) for received in self.call(self.take())]

    def finish(self) -> list[CameraFrame]:
        """What still comes back once the input has ended: until nothing arrives for a moment."""
        frames, deadline = [], time.monotonic() + FINISH_S
        while time.monotonic() < deadline:
            time.sleep(QUIET_S)
            more = self.ready()
            if not more and frames:
                break
            frames += more
        return frames

    async def take(self) -> list:
        frames = []
        while not self.link.frames.empty():
            received = self.link.frames.get_nowait()
            if received is not None:  # None: the server ended the video; the loop ends with its input
                frames.append(received)
        return frames

    def camera_frame(self, received) -> CameraFrame:  # noqa: ANN001 - client.webrtc.Received
        captured = (received.arrived_ms - (received.latency_ms or 0.0)) / 1000
        return CameraFrame(received.bgr(), captured, max(0.0, captured - self.started))

    def describe(self) -> str:
        return f"server, WebRTC {self.link.peer.connectionState}"

    def close(self) -> None:
        try:
            self.call(self.client.close(), CONNECT_TIMEOUT_S)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
