"""A blocking Python client for a PlasticVision server: source faces, settings and the live stream.

For plain scripts and desktop tools (the camera command builds on it):

    client = StreamClient("http://gpu-box:8000", api_key=key)   # the server issues the session id
    client.upload_sources(["me.jpg"])                           # client.session_id: keep it to come back
    with client.open_stream() as live:
        seq = live.send(frame)              # None when the link or the server is not ready yet
        reply = live.receive(timeout=1.0)   # StreamReply: seq, frame, capture_time, server_ms, latency_ms

The session id comes from the server (`POST /sessions`, on the first call that needs one):
invented ids are refused by servers that require sessions (the default with an API key).
Pass `session_id=` only to come back to a session the server issued before.

REST goes through urllib (no extra dependency); the stream speaks protocol 2
(`plasticvision.protocol`) over the `websockets` client that uvicorn[standard] already brings.
Failures are `ClientError` subclasses with one-line messages, chosen by the server's error `type`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib import error, parse, request

import cv2
import numpy as np

from plasticvision.client.connection import LiveConnection
from plasticvision.client.errors import ClientError, ServerUnreachable, refusal


class StreamClient:
    """One server and one session; REST calls block, `open_stream` gives a live connection."""

    def __init__(
        self, server: str, *, session_id: str | None = None, api_key: str | None = None, timeout: float = 10.0
    ) -> None:
        url = parse.urlsplit(server if "//" in server else f"http://{server}")
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ClientError(f"expected a server URL like http://host:8000, got {server!r}")
        self.base_url = f"{url.scheme}://{url.netloc}{url.path.rstrip('/')}"
        self.session_id = session_id
        self.api_key = api_key
        self.timeout = timeout

    def ensure_session(self) -> str | None:
        """The session id, asking the server for one the first time (None: an old server, the default session)."""
        if self.session_id is None:
            try:
                self.session_id = str(self.send("POST", "/sessions")["session_id"])
            except ServerRefused as exc:
                if exc.status != 404:
                    raise
        return self.session_id

    def upload_sources(self, images: Sequence[np.ndarray | str | Path]) -> int:
        """Replace the session's source faces; returns how many the server took."""
        files = [(f"source-{index}.png", image_bytes(image)) for index, image in enumerate(images)]
        body, content_type = multipart("files", files)
        return int(self.call("POST", "/upload-source-faces", body, content_type)["count"])

    def update_settings(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change some of the session's settings; returns all of them."""
        return self.call("POST", "/settings", json.dumps(dict(changes)).encode(), "application/json")["settings"]

    def status(self) -> dict[str, Any]:
        """`GET /status`: engine, this session's faces and settings, server timings."""
        return self.call("GET", "/status")

    def open_stream(self, *, max_in_flight: int = 8) -> LiveConnection:
        """A connected live stream (use it as a context manager, or call `close`)."""
        query = {"protocol": "2", "session": self.ensure_session(), "api_key": self.api_key}
        ws_base = "ws" + self.base_url[4:]
        url = f"{ws_base}/ws/stream?" + parse.urlencode({k: v for k, v in query.items() if v})
        return LiveConnection.connect(url, self.base_url, max_in_flight=max_in_flight, timeout=self.timeout)

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.session_id:
            headers["X-Session-Id"] = self.session_id
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        return headers

    def call(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> dict:
        """A request in this client's session."""
        self.ensure_session()
        return self.send(method, path, body, content_type)

    def send(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> dict:
        headers = self.headers() | ({"Content-Type": content_type} if content_type else {})
        req = request.Request(self.base_url + path, data=body, headers=headers, method=method)
        try:
            with request.urlopen(req, timeout=self.timeout) as response:
                return json.loads(response.read())
        except error.HTTPError as exc:
            raise refusal(*read_error(exc), exc.code, self.base_url) from None
        except (error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerUnreachable(f"cannot reach the server at {self.base_url}: {reason}") from None


def read_error(exc: error.HTTPError) -> tuple[str, str]:
    """The error body's `type` and `detail` (a proxy's page, not JSON: no type, its reason as the detail)."""
    try:
        body = json.loads(exc.read())
        return str(body.get("type", "")), str(body.get("detail", exc.reason))
    except (ValueError, AttributeError, OSError):
        return "", str(exc.reason)


def image_bytes(image: np.ndarray | str | Path) -> bytes:
    """A file's bytes as they are, or a BGR array as PNG."""
    if isinstance(image, np.ndarray):
        ok, png = cv2.imencode(".png", image)
        if not ok:
            raise ClientError(f"cannot encode an array of shape {image.shape} as an image")
        return png.tobytes()
    try:
        return Path(image).read_bytes()
    except OSError as exc:
        raise ClientError(f"cannot read {image}: {exc.strerror}") from None


def multipart(field: str, files: Sequence[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body with one part per file under `field`."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, data in files:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
        parts.append(head.encode() + b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
