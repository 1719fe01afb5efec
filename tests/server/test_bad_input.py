"""The bad-input corpus: every case gets a 4xx JSON `{"detail": ..., "type": ...}` naming the problem
(the type one of its status's), never a 500, and the server keeps working afterwards."""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zlib
from collections.abc import Iterator

import cv2
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from plasticvision.media.images import encode_jpeg
from plasticvision.server.errors import ERROR_TYPES
from plasticvision.settings import Settings

SMALL_LIMIT_MB = 0.5


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def decompression_bomb_png(side: int = 12_000) -> bytes:
    """A valid 1-bit PNG of side x side pixels (144 Mpx) that compresses to about 20 KB."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * ((1 + side // 8) * side), 9)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def samples(data_dir, read_test_image) -> dict[str, bytes]:
    jpeg = encode_jpeg(read_test_image("astronaut.png"), 90)
    return {
        "face": (data_dir / "Tom_Hanks_54745.png").read_bytes(),
        "no face": (data_dir / "coffee.png").read_bytes(),
        "cat": (data_dir / "chelsea.png").read_bytes(),
        "empty": b"",
        "truncated jpeg": jpeg[: len(jpeg) // 2],
        "text": b"this is a shopping list, not a photo\n",
        "bomb": decompression_bomb_png(),
        "over the limit": b"\xff\xd8\xff\xe0" + os.urandom(int(SMALL_LIMIT_MB * 1024 * 1024) + 10),
    }


@pytest.fixture(scope="module")
def client(make_app) -> Iterator[TestClient]:
    with TestClient(make_app(max_upload_mb=SMALL_LIMIT_MB, max_ws_message_mb=0.1)) as client:
        yield client


def files(field: str, *items: tuple[str, bytes]) -> list:
    return [(field, (name, data, "image/jpeg")) for name, data in items]


def assert_refused(response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    detail, type_ = response.json()["detail"], response.json()["type"]
    assert isinstance(detail, str)
    assert ERROR_TYPES[type_].status == status, type_
    for word in words:
        assert word.lower() in detail.lower(), f"{word!r} not in {detail!r}"


@pytest.fixture(autouse=True)
def server_still_healthy_afterwards(request, samples) -> Iterator[None]:
    """After every case the server still answers, and still does real work."""
    yield
    if "client" in request.fixturenames:
        client = request.getfixturevalue("client")
        assert client.get("/").json()["status"] == "ok"
        assert client.post("/detect-faces", files=files("file", ("face.png", samples["face"]))).status_code == 200


UPLOAD_CASES = {
    "empty file": ("empty", 415, ["empty.jpg", "empty"]),
    "truncated jpeg": ("truncated jpeg", 415, ["truncated jpeg.jpg", "truncated"]),
    "text file named .jpg": ("text", 415, ["text.jpg", "not a readable image"]),
    "decompression bomb": ("bomb", 413, ["bomb.jpg", "pixels"]),
    "file over the limit": ("over the limit", 413, ["over the limit.jpg", f"{SMALL_LIMIT_MB:g} MB"]),
    "no face in the source": ("no face", 422, ["no face"]),
    "a cat": ("cat", 422, ["no face"]),
}


@pytest.mark.parametrize("case", list(UPLOAD_CASES))
def test_bad_source_uploads_are_refused_and_keep_the_old_faces(client, samples, case):
    sample, status, words = UPLOAD_CASES[case]
    headers = {"X-Session-Id": "uploads"}
    assert client.post("/upload-source-faces", files=files("files", ("ok.png", samples["face"])), headers=headers).json()["count"] == 1
    response = client.post("/upload-source-faces", files=files("files", (f"{sample}.jpg", samples[sample])), headers=headers)
    assert_refused(response, status, *words)
    assert client.get("/status", headers=headers).json()["faces_loaded"] == 1


@pytest.mark.parametrize("case", ["empty file", "truncated jpeg", "text file named .jpg", "decompression bomb", "file over the limit"])
@pytest.mark.parametrize("endpoint", ["/detect-faces", "/swap-image target", "/swap-image source"])
def test_bad_images_are_refused_by_every_endpoint(client, samples, case, endpoint):
    sample, status, words = UPLOAD_CASES[case]
    bad = (f"{sample}.jpg", samples[sample])
    good = ("face.png", samples["face"])
    if endpoint == "/detect-faces":
        response = client.post("/detect-faces", files=files("file", bad))
    elif endpoint == "/swap-image target":
        response = client.post("/swap-image", files=files("source_files", good) + files("target_file", bad))
    else:
        response = client.post("/swap-image", files=files("source_files", good, bad) + files("target_file", good))
    assert_refused(response, status, *words)


def test_eleven_files_are_refused(client, samples):
    eleven = [(f"face{i}.png", samples["face"]) for i in range(11)]
    assert_refused(client.post("/upload-source-faces", files=files("files", *eleven)), 413, "11 files", "limit is 10")
    response = client.post("/swap-image", files=files("source_files", *eleven) + files("target_file", eleven[0]))
    assert_refused(response, 413, "source_files", "11 files")


@pytest.mark.parametrize(
    ("path", "sent", "missing"),
    [
        ("/upload-source-faces", None, "files"),
        ("/upload-source-faces", "file", "files"),  # a wrong field name is a missing field
        ("/detect-faces", None, "file"),
        ("/detect-faces", "image", "file"),
        ("/swap-image", "source_files", "target_file"),
        ("/swap-image", "target_file", "source_files"),
        ("/swap-image", "source", "target_file"),  # source_files may be left out when a face map is set
    ],
)
def test_missing_or_misnamed_fields_are_named(client, samples, path, sent, missing):
    payload = files(sent, ("face.png", samples["face"])) if sent else None
    assert_refused(client.post(path, files=payload), 422, f"{missing}: field required")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"sharpness": 1.5}, ["sharpness", "less than or equal to 1"]),
        ({"opacity": -0.1}, ["opacity", "greater than or equal to 0"]),
        ({"sharpness": "high"}, ["sharpness", "valid number"]),
        ({"mouth_mask": "yes"}, ["mouth_mask", "valid boolean"]),
        ({"swap_all": 1}, ["swap_all", "valid boolean"]),
        ({"opacity": None}, ["opacity"]),
        ({"sharpnes": 0.5}, ["sharpnes", "extra inputs are not permitted"]),
        ({"enhance": True}, ["enhance", "inswapper"]),
        ([0.5], ["valid dictionary"]),
        ("sharpness=0.5", ["valid dictionary"]),
    ],
    ids=repr,
)
def test_bad_settings_are_refused_naming_the_field_and_change_nothing(client, body, words):
    headers = {"X-Session-Id": "settings"}
    before = client.get("/settings", headers=headers).json()["settings"]
    assert_refused(client.post("/settings", json=body, headers=headers), 422, *words)
    assert client.get("/settings", headers=headers).json()["settings"] == before


SETTING_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from([*Settings.model_fields, "other"]), SETTING_VALUES, max_size=4))
def test_any_settings_body_is_applied_or_refused_with_the_field_named(client, changes):
    body = json.dumps(changes)  # NaN and Infinity as JavaScript writes them, which httpx's json= refuses
    response = client.post("/settings", content=body, headers={"X-Session-Id": "fuzz", "Content-Type": "application/json"})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        detail = response.json()["detail"]
        assert any(name in detail for name in changes), detail


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048))
def test_any_bytes_as_an_image_are_refused_cleanly(client, data):
    response = client.post("/detect-faces", files=files("file", ("random.jpg", data)))
    assert response.status_code in (413, 415, 422), response.text
    assert response.json()["detail"].startswith("random.jpg")


@pytest.mark.parametrize("raw", [b'{"sharpness": NaN}', b'{"opacity": Infinity}', b'{"sharpness": 0.5'], ids=repr)
def test_nan_infinity_and_broken_json_are_refused(client, raw):
    response = client.post("/settings", content=raw, headers={"Content-Type": "application/json"})
    assert_refused(response, 422)
    detail = response.json()["detail"]
    assert "finite number" in detail or "not valid JSON" in detail


def test_bad_session_ids_are_refused(client):
    assert_refused(client.get("/status", headers={"X-Session-Id": "../../etc/passwd"}), 422, "session id")
    assert_refused(client.get("/status", headers={"X-Session-Id": "x" * 65}), 422, "session id")


def test_bodies_far_over_the_limit_are_refused_before_or_while_streaming_in(client):
    huge = b"\0" * (12 * int(SMALL_LIMIT_MB * 1024 * 1024) + 2 * 1024 * 1024)
    declared = client.post("/upload-source-faces", files=files("files", ("huge.jpg", huge)))
    assert_refused(declared, 413, "request body is over the 6.5 MB limit")
    chunks = (huge[i : i + 65536] for i in range(0, len(huge), 65536))  # no Content-Length: counted as it comes
    headers = {"Content-Type": "multipart/form-data; boundary=x"}
    assert_refused(client.post("/upload-source-faces", content=chunks, headers=headers), 413, "6.5 MB limit")


def test_uploads_leave_no_temporary_files_or_open_handles(client, samples):
    """Parts over 1 MB are spooled to disk by Starlette; they must be closed whatever the outcome."""
    big = samples["face"] + b"\0" * (2 * 1024 * 1024)  # a PNG with trailing junk: decodes fine, spools to disk
    before_fds, before_tmp = len(os.listdir("/proc/self/fd")), set(os.listdir(tempfile.gettempdir()))
    for payload in (big, samples["text"], samples["over the limit"] * 3):
        client.post("/upload-source-faces", files=files("files", ("x.jpg", payload)), headers={"X-Session-Id": "tmp"})
    assert len(os.listdir("/proc/self/fd")) <= before_fds
    assert set(os.listdir(tempfile.gettempdir())) <= before_tmp


@pytest.mark.slow
def test_a_real_file_over_50_mb_is_refused(make_app, samples):
    with TestClient(make_app()) as client:
        payload = samples["face"] + b"\0" * (50 * 1024 * 1024)
        assert_refused(client.post("/upload-source-faces", files=files("files", ("big.png", payload))), 413, "50 MB")
        assert client.get("/").status_code == 200


# --- API key -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed(make_app) -> Iterator[TestClient]:
    with TestClient(make_app(api_key="s3cret")) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/status"), ("GET", "/settings"), ("POST", "/settings"), ("POST", "/upload-source-faces"),
     ("POST", "/detect-faces"), ("POST", "/swap-image")],
)
@pytest.mark.parametrize(("key", "status", "words"), [(None, 401, ["needs an API key", "X-API-Key"]), ("wrong", 403, ["not valid"])])
def test_every_endpoint_but_health_needs_the_api_key(keyed, method, path, key, status, words):
    headers = {"X-API-Key": key} if key else {}
    assert_refused(keyed.request(method, path, headers=headers), status, *words)


def test_health_and_the_right_key_pass(keyed):
    assert keyed.get("/").json()["status"] == "ok"
    assert keyed.get("/status", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert keyed.post("/settings", json={"opacity": 0.5}, headers={"X-API-Key": "s3cret"}).status_code == 200


def test_stream_with_a_bad_session_id_is_closed_with_1008(client):
    with client.websocket_connect("/ws/stream?session=../../x") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1008 and "session id" in closed.value.reason


@pytest.mark.parametrize(("query", "words"), [("", "needs an API key"), ("?api_key=wrong", "not valid")])
def test_stream_without_the_right_key_is_closed_with_1008(keyed, query, words):
    with keyed.websocket_connect(f"/ws/stream{query}") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1008 and words in closed.value.reason
    session = keyed.post("/sessions", headers={"X-API-Key": "s3cret"}).json()["session_id"]
    with keyed.websocket_connect(f"/ws/stream?api_key=s3cret&session={session}") as ws:
        assert json.loads(ws.receive_text()) == {"status": "connected"}


# --- the stream ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def frame_jpeg(read_test_image) -> bytes:
    return encode_jpeg(cv2.resize(read_test_image("astronaut.png"), (320, 240)), 70)


STREAM_CASES = {
    "not an image": (b"GIF89a? no", 415, "not a readable image"),
    "truncated jpeg": (None, 415, "truncated"),
    "oversized frame": (b"\xff\xd8" + b"\0" * 200_000, 413, "limit is 0.1 MB"),
    "text that is not JSON": ("hello", 400, "settings"),
    "JSON without settings": ('{"opacity": 0.5}', 400, "settings"),
    "out-of-range setting": ('{"settings": {"opacity": 2}}', 422, "opacity"),
    "NaN setting": ('{"settings": {"sharpness": NaN}}', 422, "sharpness"),
    "unknown setting": ('{"settings": {"blur": 1}}', 422, "blur"),
    "enhance on dlib": ('{"settings": {"enhance": true}}', 422, "inswapper"),
}


@pytest.mark.parametrize("case", list(STREAM_CASES))
def test_bad_stream_messages_get_a_text_error_and_the_stream_goes_on(client, frame_jpeg, case):
    message, code, words = STREAM_CASES[case]
    message = frame_jpeg[: len(frame_jpeg) // 2] if message is None else message
    with client.websocket_connect("/ws/stream?session=stream-errors") as ws:
        ws.receive_text()
        ws.send_text(message) if isinstance(message, str) else ws.send_bytes(message)
        error = json.loads(ws.receive_text())
        assert error["code"] == code and words in error["detail"], error
        assert error["about"] == ("message" if isinstance(message, str) else "frame")
        ws.send_bytes(frame_jpeg)
        assert ws.receive_bytes()[:2] == b"\xff\xd8"


def test_a_stream_that_only_sends_garbage_is_closed_with_1008(client):
    with client.websocket_connect("/ws/stream") as ws:
        ws.receive_text()
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(100):
                ws.send_bytes(b"junk")
                ws.receive_text()
    assert closed.value.code == 1008 and "bad messages" in closed.value.reason


def test_frames_far_over_the_limit_close_the_real_transport_with_1009(live_server, make_app, frame_jpeg):
    url = live_server(make_app(max_ws_message_mb=0.1))
    with ws_connect(f"ws://{url}/ws/stream", max_size=None) as ws:
        ws.recv(timeout=10)
        ws.send(b"\xff\xd8" + b"\0" * 150_000)  # over the limit, under the transport's: an error, and on
        assert json.loads(ws.recv(timeout=10))["code"] == 413
        ws.send(b"\xff\xd8" + b"\0" * 1_000_000)  # far over: the transport closes
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd.code == 1009
    with ws_connect(f"ws://{url}/ws/stream") as ws:  # the server lives on
        assert json.loads(ws.recv(timeout=10)) == {"status": "connected"}
