"""`camera --whep URL`: play a session's swapped video from the server's WHEP endpoint into a sink.

What OBS (or any WHIP sender) pushes to `/whip` with a send-only offer comes back swapped to
WHEP players of the same session; this one writes it to the virtual camera, a window or an MP4
as it arrives, until the push ends (the server then ends the player's connection), Ctrl-C or
SIGTERM (an MP4 is finished either way). The sink opens on the first frame, whose size the
sender chose. Frames sent by our own WHIP client carry a capture-time stamp; on those the stamp
strip is cut off and the latency shown. OBS stamps nothing: its latency is shown as unknown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from plasticvision.camera.frames import CameraFrame, FrameSink
from plasticvision.camera.loop import Meter, StatusLine, stop_on_signals
from plasticvision.client import stamp as frame_stamp
from plasticvision.client.webrtc import Received, StreamEnded, WhipClient

CONNECT_TIMEOUT_S = 30.0
POLL_S = 0.2  # how often a wait for the next frame looks at Ctrl-C


@dataclass(frozen=True)
class NoInput:
    """The meter's source and swapper: a player has neither, so nothing is dropped or in flight here."""

    dropped: int = 0
    in_flight: int = 0


def split_whep_url(url: str) -> tuple[str, str]:
    """(server, endpoint): `http://host:8000/whep?session=x` -> ("http://host:8000", "/whep?session=x");
    a bare server URL plays its `/whep`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--whep {url}: give the server's WHEP URL, e.g. http://gpu-box:8000/whep?session=NAME")
    path = parts.path.rstrip("/") or "/whep"
    return f"{parts.scheme}://{parts.netloc}", path + (f"?{parts.query}" if parts.query else "")


def picture(received: Received, first_ms: float) -> CameraFrame:
    """The frame as the sinks take it: BGR, without our stamp strip when it has one, timed from the first."""
    image = received.image.to_ndarray(format="bgr24")
    if received.latency_ms is not None:
        image = frame_stamp.crop(image)
    captured = (received.arrived_ms - (received.latency_ms or 0.0)) / 1000  # unstamped: its arrival, not counted
    return CameraFrame(image, captured, (received.arrived_ms - first_ms) / 1000)


async def play(url: str, api_key: str | None, open_sink: Callable[[tuple[int, int]], FrameSink]) -> str:
    """Write the WHEP stream at `url` into the sink `open_sink((width, height))` makes; returns the summary."""
    server, endpoint = split_whep_url(url)
    meter, status, sink, first_ms = Meter(), StatusLine(), None, 0.0
    async with WhipClient(server, api_key=api_key) as client:
        link = await asyncio.wait_for(client.play(endpoint), CONNECT_TIMEOUT_S)
        try:
            with stop_on_signals() as stop:
                while not stop.is_set():
                    try:
                        received = await link.next_frame(POLL_S)
                    except TimeoutError:
                        continue
                    except StreamEnded:
                        break
                    if sink is None:
                        first_ms = received.arrived_ms
                    frame = picture(received, first_ms)
                    if sink is None:
                        sink = open_sink((frame.image.shape[1], frame.image.shape[0]))
                    await asyncio.to_thread(sink.write, frame)
                    meter.frames_in += 1
                    meter.arrived(frame, stamped=received.latency_ms is not None)
                    status.show(meter.totals(NoInput(), NoInput()).line())
        except BaseException:
            if sink is not None:
                sink.abort()
            raise
    if sink is not None:
        sink.close()
    summary = meter.totals(NoInput(), NoInput(), final=True).summary()
    status.finish(summary)
    return summary
