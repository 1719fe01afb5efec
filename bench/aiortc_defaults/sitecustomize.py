"""Runs a Python process's WebRTC with aiortc's own jitter buffer and encoders, for its whole life.

`bench.webrtc_network` puts this folder on the baseline server's PYTHONPATH (Python imports
`sitecustomize` at start), so one run measures the tuned and the untuned server side by side.
"""

from bench.aiortc_defaults import untuned

untuned().__enter__()
