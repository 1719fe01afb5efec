"""WebRTC as aiortc sets it up, for the benchmark's baseline rows: `untuned()` turns our tuning off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from plasticvision.client import jitter, live_encoder

FOLDER = Path(__file__).parent  # on a server's PYTHONPATH: its `sitecustomize` runs the server untuned


@contextmanager
def untuned() -> Iterator[None]:
    """While inside, new peer connections keep aiortc's own jitter buffer and encoders."""
    tuned = jitter.use_live_receiver, live_encoder.use_live_encoder
    jitter.use_live_receiver = live_encoder.use_live_encoder = lambda _peer: None
    try:
        yield
    finally:
        jitter.use_live_receiver, live_encoder.use_live_encoder = tuned
