"""How large a request body each route may send, decided from the method and path alone.

The gate (`middleware/gate.py`) applies it before a byte is read. Routes that take files are
listed here; every other route takes JSON (or nothing) and gets a few kB, so a new route is
small until it says otherwise. Image routes get room for the most files a request may carry
(sources plus one target) at the per-file limit; video routes for the sources plus one video.
"""

from __future__ import annotations

from plasticvision.config import ServerConfig

MB = 1024 * 1024
KB = 1024
MULTIPART_OVERHEAD = 1024 * 1024
BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
IMAGE_PATHS = frozenset({"/upload-source-faces", "/swap-image", "/detect-faces", "/identities", "/face-map", "/verify"})
VIDEO_PATHS = frozenset({"/swap-video", "/jobs/video"})  # routes whose target file is a video


def max_body_bytes(config: ServerConfig, path: str = "", method: str = "POST") -> int:
    """The most bytes a body to `method path` may have; 0 for methods that carry none."""
    if method in BODYLESS_METHODS:
        return 0
    if path in VIDEO_PATHS:
        return config.max_files * config.max_upload_bytes + config.max_video_bytes + MULTIPART_OVERHEAD
    if path in IMAGE_PATHS:
        return (config.max_files + 1) * config.max_upload_bytes + MULTIPART_OVERHEAD
    return config.max_json_bytes


def over_size(max_bytes: int) -> str:
    if max_bytes == 0:
        return "this method takes no request body"
    if max_bytes < MB:
        return f"the request body is over the {max_bytes / KB:g} kB limit"
    return f"the request body is over the {max_bytes / MB:.1f} MB limit"
