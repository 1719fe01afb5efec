"""The routing recipe, for real: Debian's nginx with `deploy/nginx/plasticvision.conf` in front of two
`plasticvision serve` replicas sharing one redis-server, all on loopback.

A session sticks to one replica; when that replica is killed, the stream reconnects through nginx
to the other one, which has the session's faces and settings from Redis; no request fails with a
5xx outside the moment of the reconnect. Which replica served what is read from their JSON logs.
"""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import ExitStack

import cv2
import httpx
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from tests.support.faces import distance, identity
from tests.support.fleet import fleet
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow

FACE = "Tom_Hanks_54745.png"
RECONNECT_LIMIT_S = 20


def served_by(replicas: list[ServerProcess], request_ids: set[str]) -> set[int]:
    """The ports of the replicas whose logs show these requests (a line is written just after its answer)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [(r.port, line["request_id"]) for r in replicas for line in r.request_log()]
        found = {port for port, rid in lines if rid in request_ids}
        if {rid for _, rid in lines} >= request_ids or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


class Poller(threading.Thread):
    """Reads the session's settings through nginx every 50 ms, noting when and what came back."""

    def __init__(self, base: str, session: str) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=base, headers={"X-Session-Id": session}, timeout=10)
        self.answers: list[tuple[float, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                status = self.client.get("/settings").status_code
            except httpx.HTTPError:
                status = 599  # no answer at all counts as a failure too
            self.answers.append((time.monotonic(), status))
            time.sleep(0.05)

    def stop(self) -> list[tuple[float, int]]:
        self.stopping.set()
        self.join(timeout=15)
        self.client.close()
        return self.answers


def webcam_frame(read_test_image) -> tuple[np.ndarray, bytes]:
    frame = cv2.resize(read_test_image("astronaut.png")[:384], (640, 480))
    return frame, cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()


def swapped_frame(ws, jpeg: bytes) -> np.ndarray:
    ws.send(jpeg)
    reply = ws.recv(timeout=30)
    assert isinstance(reply, bytes), f"expected a frame, got {reply!r}"
    return cv2.imdecode(np.frombuffer(reply, np.uint8), cv2.IMREAD_COLOR)


def assert_source_identity(swapper, out: np.ndarray, original: np.ndarray, source: np.ndarray) -> None:
    found = identity(swapper, out)
    assert distance(found, identity(swapper, source)) < distance(found, identity(swapper, original))


def test_a_session_sticks_to_a_replica_and_fails_over_with_its_faces_and_settings(
    tmp_path, data_dir, swapper, read_test_image
):
    original, jpeg = webcam_frame(read_test_image)
    source = read_test_image(FACE)
    session = uuid.uuid4().hex
    with fleet(tmp_path) as (nginx, replicas), ExitStack() as streams:
        http = httpx.Client(base_url=nginx.url, headers={"X-Session-Id": session}, timeout=30)
        ids = [f"setup-{n}" for n in range(8)]
        face = [("files", (FACE, (data_dir / FACE).read_bytes(), "image/png"))]
        assert http.post("/upload-source-faces", files=face, headers={"X-Request-Id": ids[0]}).status_code == 200
        changes = {"sharpness": 0.8, "mouth_mask": False}
        assert http.post("/settings", json=changes, headers={"X-Request-Id": ids[1]}).status_code == 200
        for rid in ids[2:]:
            answer = http.get("/status", headers={"X-Request-Id": rid})
            assert answer.headers["X-Request-Id"] == rid  # one id from client through nginx to the replica
        (owner_port,) = served_by(replicas, set(ids))  # sticky: every request went to one replica
        owner = next(r for r in replicas if r.port == owner_port)
        other = next(r for r in replicas if r.port != owner_port)

        ws_url = nginx.url.replace("http://", "ws://") + f"/ws/stream?session={session}"
        ws = streams.enter_context(ws_connect(ws_url, open_timeout=10))
        assert ws.recv(timeout=10) == '{"status": "connected"}'
        assert_source_identity(swapper, swapped_frame(ws, jpeg), original, source)

        poller = Poller(nginx.url, session)
        poller.start()
        time.sleep(0.5)
        killed_at = time.monotonic()
        owner.kill()
        with pytest.raises(ConnectionClosed):  # the stream notices its replica is gone
            for _ in range(10):
                swapped_frame(ws, jpeg)
        ws = reconnect(ws_url, streams)  # as the page does: the same URL, through nginx again
        out = swapped_frame(ws, jpeg)
        reconnected_at = time.monotonic()
        time.sleep(1.0)
        answers = poller.stop()

        assert reconnected_at - killed_at < RECONNECT_LIMIT_S
        assert_source_identity(swapper, out, original, source)  # the faces came along
        status = http.get("/status", headers={"X-Request-Id": "after-failover"}).json()
        assert status["faces_loaded"] == 1
        assert status["settings"]["sharpness"] == 0.8 and status["settings"]["mouth_mask"] is False
        assert served_by(replicas, {"after-failover"}) == {other.port}
        http.close()

    outside = [(at, code) for at, code in answers if code >= 500 and not killed_at <= at <= reconnected_at]
    assert not outside, f"5xx outside the reconnect window: {outside}"
    assert sum(code == 200 for at, code in answers if at > reconnected_at) >= 5  # the other replica answers
    assert len(answers) > 20


def reconnect(url: str, streams: ExitStack):
    """Try again every 250 ms, like the web app, until a stream is connected."""
    deadline = time.monotonic() + RECONNECT_LIMIT_S
    while True:
        try:
            ws = streams.enter_context(ws_connect(url, open_timeout=5))
            if ws.recv(timeout=10) == '{"status": "connected"}':
                return ws
        except (OSError, ConnectionClosed, TimeoutError) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"the stream did not reconnect: {exc}") from exc
        time.sleep(0.25)
