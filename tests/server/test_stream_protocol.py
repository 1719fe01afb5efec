"""Stream protocol 2 (`plasticvision.protocol`) on the real server: headers echoed, frames dropped
with a notice, replies in order, the seed form unchanged, and bad frames refused with a clear
message while the connection and other clients go on."""

from __future__ import annotations

import json
import math
import struct

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.sync.client import connect as ws_connect

from plasticvision.media.images import encode_jpeg, encode_png
from plasticvision.protocol import (
    FRAME_HEADER,
    KIND_DROPPED,
    KIND_FRAME,
    MAGIC,
    ProtocolError,
    decode_frame,
    decode_reply,
    encode_frame,
    negotiate,
)


@pytest.fixture(scope="module")
def frame_jpeg(read_test_image) -> bytes:
    return encode_jpeg(cv2.resize(read_test_image("astronaut.png"), (320, 240)), 70)


@pytest.fixture(scope="module")
def client(make_app):
    with TestClient(make_app()) as client:
        yield client


def open_v2(client: TestClient, session: str = "protocol-2"):
    ws = client.websocket_connect(f"/ws/stream?protocol=2&session={session}")
    return ws


# --- the format on its own ------------------------------------------------------------------------


def test_a_frame_round_trips_through_its_header():
    data = encode_frame(7, 1234.5, b"\xff\xd8jpeg", reply_quality=55)
    header, jpeg = decode_frame(data, last_seq=6)
    assert (header.seq, header.capture_time_ms, header.reply_quality, bytes(jpeg)) == (7, 1234.5, 55, b"\xff\xd8jpeg")
    assert len(data) == FRAME_HEADER.size + 6


BAD_FRAMES = {
    "too short": (b"PV\x02", None, "malformed frame header"),
    "no magic": (b"\xff\xd8" + bytes(30), None, "malformed frame header"),
    "wrong version": (FRAME_HEADER.pack(MAGIC, 3, 0, 1, 0.0, 0) + b"x", None, "version 3"),
    "seq going backwards": (encode_frame(4, 10.0, b"x"), 9, "frame 4 came after frame 9"),
    "seq repeated": (encode_frame(9, 10.0, b"x"), 9, "must increase"),
    "negative capture time": (encode_frame(10, -5.0, b"x"), 9, "capture time -5.0"),
    "huge capture time": (encode_frame(10, 1e300, b"x"), 9, "out of range"),
    "NaN capture time": (encode_frame(10, math.nan, b"x"), 9, "capture time nan"),
    "reply quality 3": (encode_frame(10, 1.0, b"x", reply_quality=3), 9, "reply quality 3"),
}


@pytest.mark.parametrize("case", list(BAD_FRAMES))
def test_bad_headers_are_refused_by_rule(case):
    data, last_seq, words = BAD_FRAMES[case]
    with pytest.raises(ProtocolError, match=words):
        decode_frame(data, last_seq)


def test_only_known_protocols_are_negotiated():
    assert negotiate(None) == negotiate("") == 1
    assert negotiate("2") == 2
    with pytest.raises(ProtocolError, match="unsupported protocol '7'"):
        negotiate("7")


# --- on the server --------------------------------------------------------------------------------


def test_protocol_2_replies_echo_seq_and_capture_time_with_the_server_time(client, frame_jpeg):
    with open_v2(client) as ws:
        hello = json.loads(ws.receive_text())
        assert hello["status"] == "connected" and hello["protocol"] == 2
        ws.send_bytes(encode_frame(41, 987654.25, frame_jpeg, reply_quality=40))
        header, jpeg = decode_reply(ws.receive_bytes())
    assert (header.kind, header.seq, header.capture_time_ms) == (KIND_FRAME, 41, 987654.25)
    assert 0 < header.work_ms <= header.server_ms < 10_000
    frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert frame.shape == (240, 320, 3)
    assert len(jpeg) < len(encode_jpeg(frame, 80)), "the reply quality asked for was not used"


def test_a_burst_gets_each_frame_answered_or_dropped_in_order(client, frame_jpeg, read_test_image):
    """Frames sent faster than they are swapped: latest wins, the rest get a DROPPED notice, and no
    reply ever arrives after a newer one. The session has a source face, so each frame is really
    swapped (~40 ms): without one a frame took ~1 ms, less than sending the next, and a busy
    machine's burst could come out with no frame overtaken."""
    source = encode_png(read_test_image("Tom_Hanks_54745.png"))
    uploaded = client.post(
        "/upload-source-faces", files={"files": ("hanks.png", source, "image/png")}, headers={"X-Session-Id": "burst"}
    )
    assert uploaded.status_code == 200, uploaded.text
    sent = list(range(1, 13))
    with open_v2(client, "burst") as ws:
        ws.receive_text()
        for seq in sent:
            ws.send_bytes(encode_frame(seq, float(seq), frame_jpeg))
        replies = [decode_reply(ws.receive_bytes())[0] for _ in sent]
    assert sorted(reply.seq for reply in replies) == sent, "every frame gets exactly one answer"
    swapped = [reply.seq for reply in replies if reply.kind == KIND_FRAME]
    assert swapped == sorted(swapped) and swapped[-1] == sent[-1], "replies out of order, or the newest lost"
    assert any(reply.kind == KIND_DROPPED for reply in replies), "a burst of 12 should overtake some frames"
    assert all(reply.capture_time_ms == reply.seq for reply in replies)


def test_the_seed_form_is_unchanged(live_server, make_app, frame_jpeg):
    """A plain client with no extras: bare JPEG in, bare JPEG out, and the seed's hello exactly."""
    url = live_server(make_app())
    with ws_connect(f"ws://{url}/ws/stream", max_size=None) as ws:
        assert json.loads(ws.recv(timeout=10)) == {"status": "connected"}
        for _ in range(3):
            ws.send(frame_jpeg)
            reply = ws.recv(timeout=30)
            assert isinstance(reply, bytes) and reply[:2] == b"\xff\xd8", "not a bare JPEG"
            assert cv2.imdecode(np.frombuffer(reply, np.uint8), cv2.IMREAD_COLOR).shape == (240, 320, 3)


def test_an_unknown_protocol_is_refused_with_1008(client):
    with client.websocket_connect("/ws/stream?protocol=9") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1008 and "unsupported protocol" in closed.value.reason


V2_BAD_MESSAGES = {
    "malformed header": (b"\xff\xd8 a seed frame on a v2 socket", None, "malformed frame header"),
    "seq going backwards": (encode_frame(3, 1.0, b"\xff\xd8"), 3, "frame 3 came after frame 5"),
    "huge capture time": (encode_frame(6, 1e20, b"\xff\xd8"), 6, "capture time"),
    "negative capture time": (encode_frame(6, -1.0, b"\xff\xd8"), 6, "capture time"),
    "text where a frame belongs": ("FRAME 6", None, "frames are binary"),
    "a frame that is not a JPEG": (encode_frame(6, 1.0, b"GIF89a no"), 6, "not a readable image"),
}


@pytest.mark.parametrize("case", list(V2_BAD_MESSAGES))
def test_bad_protocol_2_input_gets_a_clear_error_and_harms_no_one(client, frame_jpeg, case):
    message, seq, words = V2_BAD_MESSAGES[case]
    with open_v2(client, "bad-v2") as ws, open_v2(client, "bystander") as other:
        ws.receive_text(), other.receive_text()
        ws.send_bytes(encode_frame(5, 1.0, frame_jpeg))
        assert decode_reply(ws.receive_bytes())[0].seq == 5
        ws.send_text(message) if isinstance(message, str) else ws.send_bytes(message)
        error = json.loads(ws.receive_text())
        assert words in error["detail"] and 400 <= error["code"] < 500, error
        assert error.get("seq") == seq
        ws.send_bytes(encode_frame(7, 2.0, frame_jpeg))  # the connection goes on
        assert decode_reply(ws.receive_bytes())[0].seq == 7
        other.send_bytes(encode_frame(1, 1.0, frame_jpeg))  # and so does everyone else's
        assert decode_reply(other.receive_bytes())[0].seq == 1


def test_status_splits_the_server_time_of_live_frames(client, frame_jpeg):
    with open_v2(client, "timed") as ws:
        ws.receive_text()
        ws.send_bytes(encode_frame(1, 1.0, frame_jpeg))
        ws.receive_bytes()
    stream_ms = client.get("/status").json()["stream_ms"]
    assert set(stream_ms) == {"wait", "work", "total"} and stream_ms["work"] > 0


def test_header_layout_is_network_order():
    """What another implementation (web/js/protocol.js) must produce, byte for byte."""
    data = encode_frame(0x01020304, 1.5, b"", reply_quality=70)
    assert data == b"PV\x02\x00\x01\x02\x03\x04" + struct.pack(">d", 1.5) + bytes([70])
