"""The seed API contract, field by field, in-process (TestClient) and over a real uvicorn on loopback.

Each contract test gets its own session id, so tests never share source faces or settings.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator

import cv2
import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from websockets.sync.client import connect as ws_connect

from tests.support.faces import distance, identity
from plasticvision.media.images import SYNTHETIC_NOTE, encode_jpeg
from plasticvision.media.overlay import BAND_COLOUR
from plasticvision.settings import Settings

SETTINGS_FIELDS = {"mouth_mask", "sharpness", "enhance", "opacity", "swap_all", "swapper", "enhancer", "face_masks",
                   "mask_regions"}


@pytest.fixture(scope="module")
def png_bytes(data_dir):
    return lambda name: (data_dir / name).read_bytes()


@pytest.fixture(scope="module")
def webcam_jpeg(read_test_image) -> bytes:
    """A 640x480 q70 JPEG of the astronaut (cropped to 4:3, not stretched), what the browser app sends."""
    return encode_jpeg(cv2.resize(read_test_image("astronaut.png")[:384], (640, 480)), 70)


@pytest.fixture(scope="module")
def live_url(live_server, make_app) -> str:
    return live_server(make_app())


class LiveStream:
    """The `websockets` client behind TestClient's WebSocket method names."""

    def __init__(self, url: str) -> None:
        self.connection = ws_connect(url, open_timeout=10)
        self.socket = self.connection.__enter__()

    def send_bytes(self, data: bytes) -> None:
        self.socket.send(data)

    def send_text(self, text: str) -> None:
        self.socket.send(text)

    def receive_bytes(self) -> bytes:
        message = self.socket.recv(timeout=10)
        assert isinstance(message, bytes), f"expected a binary frame, got text {message!r}"
        return message

    def receive_text(self) -> str:
        message = self.socket.recv(timeout=10)
        assert isinstance(message, str), "expected a text message, got a binary frame"
        return message

    def __enter__(self) -> LiveStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.__exit__(*exc)


class Api:
    """One transport (TestClient or httpx against uvicorn) with this test's session id."""

    def __init__(self, http: httpx.Client, ws_base: str | None) -> None:
        self.session = uuid.uuid4().hex
        self.http = http
        self.http.headers["X-Session-Id"] = self.session
        self.ws_base = ws_base

    def stream(self, session: str | None = None):
        path = f"/ws/stream?session={session or self.session}"
        if self.ws_base is None:
            assert isinstance(self.http, TestClient)
            return self.http.websocket_connect(path)
        return LiveStream(self.ws_base + path)


@pytest.fixture(params=["app", "uvicorn"])
def api(request, make_app) -> Iterator[Api]:
    if request.param == "app":
        with TestClient(make_app()) as client:
            yield Api(client, None)
    else:
        url = request.getfixturevalue("live_url")
        with httpx.Client(base_url=f"http://{url}", timeout=30) as client:
            yield Api(client, f"ws://{url}")


def upload(api: Api, *payloads: bytes) -> httpx.Response:
    files = [("files", (f"face{i}.png", data, "image/png")) for i, data in enumerate(payloads)]
    return api.http.post("/upload-source-faces", files=files)


def decode(data: bytes) -> np.ndarray:
    frame = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert frame is not None, "the server's answer is not an image"
    return frame


# --- the seed contract, on both transports -------------------------------------------------------


def test_health_has_the_seed_fields(api):
    body = api.http.get("/", headers={"Accept": "application/json"}).json()
    assert body["status"] == "ok"
    assert body["gpu"] is False
    assert body["engine_ready"] is True
    assert body["engine"] == "dlib"


def test_status_has_the_seed_fields(api):
    response = api.http.get("/status")
    assert response.status_code == 200
    body = response.json()
    assert body["gpu"] is False
    assert body["engine"] == "dlib"
    assert body["engine_reason"]
    assert body["providers"] and all(isinstance(p, str) for p in body["providers"])
    assert body["faces_loaded"] == 0
    assert set(body["settings"]) == SETTINGS_FIELDS
    assert isinstance(body["timings_ms"], dict)
    assert body["sessions"] >= 1  # the default one: a read never creates this test's session
    assert body["session_id"] == api.session


def test_upload_source_faces_answers_success_count_message(api, png_bytes):
    response = upload(api, png_bytes("Tom_Hanks_54745.png"), png_bytes("Tom_Hanks_54745.png"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"success": True, "count": 2, "message": body["message"]}
    assert "2" in body["message"]
    assert api.http.get("/status").json()["faces_loaded"] == 2


def test_settings_partial_update_keeps_the_rest(api):
    response = api.http.post("/settings", json={"sharpness": 0.7, "mouth_mask": False})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["settings"] == Settings(mouth_mask=False, sharpness=0.7).model_dump(mode="json")
    body = api.http.post("/settings", json={"opacity": 0.5}).json()
    assert body["settings"]["sharpness"] == 0.7 and body["settings"]["opacity"] == 0.5
    assert api.http.get("/settings").json()["settings"] == body["settings"]
    assert api.http.get("/status").json()["settings"] == body["settings"]


def test_swap_image_returns_a_labelled_png_with_the_source_identity(api, swapper, png_bytes, read_test_image):
    files = [
        ("source_files", ("hanks.png", png_bytes("Tom_Hanks_54745.png"), "image/png")),
        ("target_file", ("astronaut.png", png_bytes("astronaut.png"), "image/png")),
    ]
    response = api.http.post("/swap-image", files=files)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-faces-swapped"] == "1"
    assert Image.open(io.BytesIO(response.content)).info["Description"] == SYNTHETIC_NOTE
    out = identity(swapper, decode(response.content))
    source, target = read_test_image("Tom_Hanks_54745.png"), read_test_image("astronaut.png")
    assert distance(out, identity(swapper, source)) < distance(out, identity(swapper, target))
    assert api.http.get("/status").json()["faces_loaded"] == 0  # a one-shot swap leaves the session alone


def test_detect_faces_draws_the_faces_it_found(api, png_bytes, read_test_image):
    response = api.http.post("/detect-faces", files={"file": ("astronaut.png", png_bytes("astronaut.png"), "image/png")})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-faces-found"] == "1"
    drawn, original = decode(response.content), read_test_image("astronaut.png")
    assert drawn.shape == original.shape
    changed = np.any(drawn != original, axis=2)
    assert 0.001 < changed.mean() < 0.2  # boxes and points, not a different picture


def test_stream_sends_the_overlay_until_a_face_is_uploaded_then_swapped_frames(
    api, swapper, png_bytes, webcam_jpeg, read_test_image
):
    original = decode(webcam_jpeg)
    with api.stream() as ws:
        assert json.loads(ws.receive_text()) == {"status": "connected"}
        ws.send_bytes(webcam_jpeg)
        overlaid = decode(ws.receive_bytes())
        assert_overlay(overlaid, original)

        assert upload(api, png_bytes("Tom_Hanks_54745.png")).status_code == 200
        ws.send_bytes(webcam_jpeg)
        swapped = decode(ws.receive_bytes())
    out = identity(swapper, swapped)
    assert distance(out, identity(swapper, read_test_image("Tom_Hanks_54745.png"))) < distance(
        out, identity(swapper, original)
    )


def assert_overlay(frame: np.ndarray, original: np.ndarray) -> None:
    """The original picture, with the notice band along the bottom."""
    height = frame.shape[0]
    top = np.abs(frame[: height * 3 // 4].astype(int) - original[: height * 3 // 4]).mean()
    assert top < 4, "the overlay frame should be the original above the notice"
    band = frame[height - 3 :]
    assert np.abs(band.astype(int) - BAND_COLOUR).mean() < 12, "no notice band at the bottom"


def test_stream_settings_messages_update_the_session(api):
    with api.stream() as ws:
        ws.receive_text()
        ws.send_text(json.dumps({"settings": {"opacity": 0.25}}))
        assert json.loads(ws.receive_text())["settings"]["opacity"] == 0.25
    assert api.http.get("/status").json()["settings"]["opacity"] == 0.25


# --- in-process only -----------------------------------------------------------------------------


@pytest.fixture
def client(make_app) -> Iterator[TestClient]:
    with TestClient(make_app()) as client:
        yield client


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        ("application/json", False),
        ("*/*", False),
        ("", False),
        ("application/json;q=0.5, text/html", True),
    ],
)
def test_root_serves_the_browser_app_only_to_clients_that_prefer_html(client, accept, html):
    response = client.get("/", headers={"Accept": accept})
    assert response.status_code == 200
    assert "Accept" in response.headers["vary"]  # caches must not answer a JSON fetch with the page
    if html:
        assert response.headers["content-type"].startswith("text/html")
        assert "/static/" in response.text
    else:
        assert response.json()["status"] == "ok"


def test_the_browser_apps_assets_are_served_where_its_page_says(client):
    page = client.get("/", headers={"Accept": "text/html"}).text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert assets, "the page references no /static/ assets"
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert client.get("/static/no-such-file.js").status_code == 404


def test_openapi_documents_every_endpoint(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/", "/status", "/upload-source-faces", "/settings", "/swap-image", "/detect-faces"):
        assert path in paths, path
    upload_schema = json.dumps(client.get("/openapi.json").json()["components"])
    assert "source_files" in upload_schema and "target_file" in upload_schema


def test_requests_without_a_session_id_share_the_default_session(client, png_bytes):
    assert client.post("/settings", json={"swap_all": True}).status_code == 200
    files = [("files", ("hanks.png", png_bytes("Tom_Hanks_54745.png"), "image/png"))]
    assert client.post("/upload-source-faces", files=files).json()["count"] == 1
    body = client.get("/status").json()
    assert body["session_id"] == "default" and body["faces_loaded"] == 1 and body["settings"]["swap_all"] is True


def test_two_sessions_never_see_each_others_faces_or_settings(client, swapper, png_bytes, webcam_jpeg, read_test_image):
    """Alice streams with Tom Hanks' face, Bob with the astronaut's own; Carol has none."""
    alice, bob = {"X-Session-Id": "alice"}, {"X-Session-Id": "bob"}
    for headers, name in ((alice, "Tom_Hanks_54745.png"), (bob, "astronaut.png")):
        files = [("files", (name, png_bytes(name), "image/png"))]
        assert client.post("/upload-source-faces", files=files, headers=headers).status_code == 200
    assert client.post("/settings", json={"sharpness": 0.6}, headers=alice).status_code == 200
    assert client.post("/settings", json={"mouth_mask": False, "swap_all": True}, headers=bob).status_code == 200

    alice_status, bob_status = client.get("/status", headers=alice).json(), client.get("/status", headers=bob).json()
    assert (alice_status["faces_loaded"], bob_status["faces_loaded"]) == (1, 1)
    assert alice_status["settings"] == Settings(sharpness=0.6).model_dump(mode="json")
    assert bob_status["settings"] == Settings(mouth_mask=False, swap_all=True).model_dump(mode="json")
    assert client.get("/status").json()["faces_loaded"] == 0  # nor the default session

    def streamed(session: str) -> np.ndarray:
        with client.websocket_connect(f"/ws/stream?session={session}") as ws:
            ws.receive_text()
            ws.send_bytes(webcam_jpeg)
            return decode(ws.receive_bytes())

    hanks = identity(swapper, read_test_image("Tom_Hanks_54745.png"))
    alice_out, bob_out = identity(swapper, streamed("alice")), identity(swapper, streamed("bob"))
    assert distance(alice_out, hanks) < distance(bob_out, hanks) - 0.05
    assert_overlay(streamed("carol"), decode(webcam_jpeg))


# --- over a real uvicorn -------------------------------------------------------------------------


def test_stream_drops_stale_frames_and_keeps_answering(live_url, png_bytes, webcam_jpeg):
    session = uuid.uuid4().hex
    files = [("files", ("hanks.png", png_bytes("Tom_Hanks_54745.png"), "image/png"))]
    url = f"http://{live_url}/upload-source-faces"
    httpx.post(url, files=files, headers={"X-Session-Id": session}, timeout=30).raise_for_status()
    with ws_connect(f"ws://{live_url}/ws/stream?session={session}") as ws:
        ws.recv(timeout=10)
        for _ in range(15):
            ws.send(webcam_jpeg)
        replies = []
        try:
            while True:
                replies.append(ws.recv(timeout=2))
        except TimeoutError:
            pass
        assert all(isinstance(reply, bytes) for reply in replies)
        assert 1 <= len(replies) < 15, f"{len(replies)} replies to a burst of 15 frames"
        ws.send(webcam_jpeg)  # still alive and answering
        assert isinstance(ws.recv(timeout=10), bytes)


def test_stream_refuses_per_message_deflate(live_url):
    with ws_connect(f"ws://{live_url}/ws/stream") as ws:  # the client offers permessage-deflate
        assert "permessage-deflate" not in (ws.response.headers.get("Sec-WebSocket-Extensions") or "")
        assert json.loads(ws.recv(timeout=10)) == {"status": "connected"}
