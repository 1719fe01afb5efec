"""WebRTC transport for the live stream: WHIP ingest (swapped video back) and WHEP playback.

Needs the `webrtc` extra (aiortc). aiortc is imported only inside this package (and the
client's WebRTC module); `router()` is None when it is not installed, so the rest of the
server runs without it and `/status` says the page should use the WebSocket.
"""

from __future__ import annotations

import importlib.util

from fastapi import APIRouter


def available() -> bool:
    return importlib.util.find_spec("aiortc") is not None


def router() -> APIRouter | None:
    """The `/whip` and `/whep` routes, or None without aiortc."""
    if not available():
        return None
    from plasticvision.server.webrtc.routes import router as webrtc_router  # optional extra, not a cycle

    return webrtc_router
