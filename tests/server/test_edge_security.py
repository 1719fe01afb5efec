"""The server on the public internet, attacked as issue 23 did: a real `plasticvision serve` (uvicorn, its
own process, text logs with uvicorn's access log) with an API key, and one without a key on loopback.

Each test is one attack; the module's keyed server is shared, so its per-client session limit is
tested last.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from tests.support.server_process import ServerProcess, server_process

KEY = "k-7f3a9c1e5b2d4f60a8e1"
MB = 1024 * 1024
HEADERS = {"X-API-Key": KEY}
DATA = Path(__file__).parents[1] / "data"


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


@pytest.fixture(scope="module")
def spool(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spool")  # the server's TMPDIR: where multipart bodies would be spooled


@pytest.fixture(scope="module")
def keyed(tmp_path_factory, spool) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("keyed")
    env = {
        "PLASTICVISION_API_KEY": KEY,
        "PLASTICVISION_UPLOAD_GRACE_S": "2",
        "PLASTICVISION_UPLOAD_WINDOW_S": "2",
        "PLASTICVISION_MAX_STREAMS_PER_CLIENT": "2",
        "PLASTICVISION_MAX_SESSIONS_PER_CLIENT": "8",
        "PLASTICVISION_MAX_STREAM_PIXELS": "100000",
        "TMPDIR": str(spool),
    }
    with server_process(folder / "data", folder / "server.log", env=env) as server:
        yield server


@pytest.fixture(scope="module")
def open_local(tmp_path_factory) -> Iterator[ServerProcess]:
    """No key, on loopback: the developer's own machine, which other web pages must not drive."""
    folder = tmp_path_factory.mktemp("open")
    env = {"PLASTICVISION_ALLOWED_HOSTS": "[]"}
    with server_process(folder / "data", folder / "server.log", env=env) as server:
        yield server


def new_session(server: ServerProcess) -> str:
    answer = httpx.post(server.url + "/sessions", headers=HEADERS)
    assert answer.status_code == 201, answer.text
    return answer.json()["session_id"]


def raw_answer(server: ServerProcess, head: str, first_body: bytes = b"") -> tuple[bytes, float]:
    """Send a request head (and the start of a body), then read what the server says, and how fast."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        started = time.monotonic()
        sock.sendall(head.encode() + first_body)
        return read_until_closed(sock), time.monotonic() - started


def read_until_closed(sock: socket.socket, answer: bytes = b"") -> bytes:
    """The rest of an answer that closes the connection (every refusal does)."""
    sock.settimeout(20)
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except ConnectionResetError:  # a byte we sent after the server closed: its kernel answers with a reset
        pass
    return answer


def post_head(path: str, length: int, content_type: str, key: str | None = None) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {content_type}", f"Content-Length: {length}"]
    return "\r\n".join(lines + ([f"X-API-Key: {key}"] if key else []) + ["", ""])


def ws_url(server: ServerProcess, **query: str) -> str:
    return server.url.replace("http", "ws") + "/ws/stream?" + "&".join(f"{k}={v}" for k, v in query.items())


def closed_reason(url: str, **options) -> ConnectionClosed:
    with ws_connect(url, **options) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    return closed.value


# --- bodies ---------------------------------------------------------------------------------------


def test_an_anonymous_oversized_body_is_refused_before_it_is_read(keyed, spool):
    resident, spooled = keyed.rss_mib(), folder_bytes(spool)
    for path, content_type in (("/settings", "application/json"), ("/upload-source-faces", "multipart/form-data; boundary=b")):
        answer, _ = raw_answer(keyed, post_head(path, 500 * MB, content_type), b"[" * 65536)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        assert b"needs an API key" in answer
    answer, _ = raw_answer(keyed, post_head("/settings", 1 * MB, "application/json", KEY), b"{")
    assert answer.startswith(b"HTTP/1.1 413") and b"kB limit" in answer, answer[:300]  # JSON routes: a few kB
    assert keyed.rss_mib() < resident + 16
    assert folder_bytes(spool) == spooled


def test_a_chunked_body_past_the_route_limit_is_cut_off(keyed):
    head = "POST /settings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += f"X-API-Key: {KEY}\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"[" * 32768
    answer, _ = raw_answer(keyed, head, f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_fast_start_then_a_drip_is_cut_off_one_window_later(keyed):
    """A whole-request average would let 200 kB buy this connection 12 s per byte; the window does not."""
    boundary = "drip"
    head = post_head("/upload-source-faces", 4 * MB, f"multipart/form-data; boundary={boundary}", KEY)
    with socket.create_connection(("127.0.0.1", keyed.port), timeout=30) as sock:
        started = time.monotonic()
        part = f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n\r\n'
        sock.sendall(head.encode() + part.encode() + b"x" * 200_000)
        answer = b""
        while not answer and time.monotonic() - started < 20:
            # Read an answer as soon as one is there, before dripping on: a byte sent after the server
            # closed makes its kernel reset the connection, which can discard the answer unread.
            if select.select([sock], [], [], 0.5)[0]:
                answer = read_until_closed(sock)
                break
            try:
                sock.sendall(b"x")
            except OSError:
                break
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"over 2 s" in answer
    assert elapsed < 10, elapsed  # grace 2 s + window 2 s, and slack for a busy machine


# --- sessions -------------------------------------------------------------------------------------


def test_client_invented_session_ids_are_refused(keyed):
    invented = ["me", "a", "A" * 22 + "." + "B" * 16]  # the last has the issued shape, with a forged tag
    for session in invented:
        answer = httpx.post(keyed.url + "/settings", json={"opacity": 0.5}, headers={**HEADERS, "X-Session-Id": session})
        assert answer.status_code == 403 and "not issued" in answer.json()["detail"]
    assert "not issued" in closed_reason(ws_url(keyed, api_key=KEY, session="me")).reason
    issued = httpx.post(keyed.url + "/settings", json={"opacity": 0.5}, headers=HEADERS)  # a write without an id
    session = issued.headers["X-Session-Id"]
    mine = httpx.get(keyed.url + "/settings", headers={**HEADERS, "X-Session-Id": session}).json()
    assert mine["settings"]["opacity"] == 0.5


def test_a_thousand_reads_create_no_session(open_local):
    with httpx.Client(base_url=open_local.url) as client:
        before = client.get("/status").json()["sessions"]
        for number in range(1000):
            assert client.get("/settings", headers={"X-Session-Id": f"reader-{number}"}).status_code == 200
        assert client.get("/status").json()["sessions"] == before
        assert client.post("/settings", json={"opacity": 0.9}, headers={"X-Session-Id": "writer"}).status_code == 200
        assert client.get("/status").json()["sessions"] == before + 1  # a write does


# --- other origins ----------------------------------------------------------------------------------


def test_a_cross_origin_page_cannot_read_or_drive_a_local_server(open_local):
    evil = {"Origin": "http://evil.example"}
    read = httpx.get(open_local.url + "/settings", headers=evil)
    assert "access-control-allow-origin" not in read.headers  # the browser hides the answer from the page
    preflight = httpx.options(
        open_local.url + "/settings", headers={**evil, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers  # so no JSON POST is ever sent
    assert closed_reason(ws_url(open_local), additional_headers=evil).code == 1008
    rebound = httpx.get(open_local.url + "/settings", headers={"Host": "evil.example"})  # DNS rebinding
    assert rebound.status_code == 400 and "Host" in rebound.json()["detail"]
    own_page = {"Origin": open_local.url}
    with ws_connect(ws_url(open_local), additional_headers=own_page) as ws:
        assert json.loads(ws.recv(timeout=10))["status"] == "connected"


def test_the_api_documents_need_the_key(keyed):
    for path in ("/openapi.json", "/docs"):
        assert httpx.get(keyed.url + path).status_code == 401
        assert httpx.get(keyed.url + path, headers=HEADERS).status_code == 200
    assert httpx.get(keyed.url + "/").status_code == 200  # health stays open


# --- decoders ---------------------------------------------------------------------------------------


def test_a_playlist_upload_is_refused_before_ffmpeg_reads_it(keyed, tmp_path):
    secret = tmp_path / "secret.ts"
    secret.write_bytes(b"G" * 188 * 10)
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{secret}\n#EXT-X-ENDLIST\n".encode()
    files = {
        "target_file": ("x.m3u8", playlist, "application/vnd.apple.mpegurl"),
        "source_files": ("face.png", (DATA / "Tom_Hanks_54745.png").read_bytes(), "image/png"),
    }
    answer = httpx.post(keyed.url + "/jobs/video", files=files, headers=HEADERS, timeout=30)
    assert answer.status_code == 415 and "playlist" in answer.json()["detail"], answer.text


# --- the live stream --------------------------------------------------------------------------------


def test_a_nested_json_message_gets_an_error_and_the_stream_goes_on(keyed):
    session = new_session(keyed)
    with ws_connect(ws_url(keyed, api_key=KEY, session=session)) as ws:
        assert json.loads(ws.recv(timeout=10))["status"] == "connected"
        ws.send('{"settings": ' + "[" * 5000 + "]" * 5000 + "}")
        error = json.loads(ws.recv(timeout=10))
        assert error["code"] == 400 and error["about"] == "message"
        ws.send(json.dumps({"settings": {"sharpness": 0.5}}))
        assert json.loads(ws.recv(timeout=10))["settings"]["sharpness"] == 0.5
        ws.send((DATA / "t1.jpg").read_bytes())  # a photo, over the stream's smaller pixel cap
        error = json.loads(ws.recv(timeout=10))
        assert error["code"] == 413 and error["about"] == "frame"


def test_one_address_holds_only_its_share_of_streams(keyed):
    session = new_session(keyed)
    url = ws_url(keyed, api_key=KEY, session=session)
    with ws_connect(url) as first, ws_connect(url.replace(session, new_session(keyed))) as second:
        first.recv(timeout=10), second.recv(timeout=10)
        refused = closed_reason(url.replace(session, new_session(keyed)))
        assert refused.code == 1013 and "live streams" in refused.reason


# --- logs -----------------------------------------------------------------------------------------


def test_the_logs_of_a_keyed_run_never_contain_the_key_or_a_session(keyed):
    session = new_session(keyed)
    with ws_connect(ws_url(keyed, api_key=KEY, session=session)) as ws:
        ws.recv(timeout=10)
    httpx.get(f"{keyed.url}/jobs/nosuchjob/events?api_key={KEY}&session={session}")
    httpx.get(f"{keyed.url}/settings?api_key={KEY}", headers={"X-Session-Id": session})
    time.sleep(0.5)
    log = keyed.log()
    assert "api_key=[redacted]" in log  # uvicorn logged the URLs: redacted, not left out
    assert KEY not in log and session not in log


# --- last: it uses up this address's sessions -----------------------------------------------------------


def test_one_address_gets_only_its_share_of_sessions(keyed):
    answers = [httpx.post(keyed.url + "/sessions", headers=HEADERS).status_code for _ in range(10)]
    assert 429 in answers and answers.count(201) <= 8


# --- starting -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"PLASTICVISION_API_KEY": "change-me-to-a-long-random-string"}, "placeholder"),
        ({"PLASTICVISION_METRICS_TOKEN": "change-me"}, "placeholder"),
        ({"PLASTICVISION_HOST": "0.0.0.0"}, "without an API key"),
    ],
)
def test_unsafe_configurations_refuse_to_start(tmp_path, env, words):
    inherited = {name: value for name, value in os.environ.items() if name != "PLASTICVISION_API_KEY"}
    environment = inherited | {"PLASTICVISION_DATA_DIR": str(tmp_path), "PLASTICVISION_PORT": "9"} | env
    done = subprocess.run(
        [sys.executable, "-m", "plasticvision", "serve"], env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and words in done.stderr, done.stderr
