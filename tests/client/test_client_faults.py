"""Clients that misbehave, against a real server process: they hang up mid-upload or mid-download,
or send their body at one byte a second. No temp file or descriptor is left behind, nothing
answers 500, other clients are served meanwhile, and the slow one is cut off after the
documented time (`PLASTICVISION_UPLOAD_GRACE_S`).
"""

from __future__ import annotations

import os
import socket
import threading
import time

import httpx
import pytest

from tests.server.test_faults import SOURCE, assert_no_server_errors, files_under, post_job, wait_for
from tests.support.server_process import ServerProcess, server_process
from tests.support.video_clips import make_clip

pytestmark = pytest.mark.slow

GRACE_S = 5.0
BOUNDARY = "pvboundary"


@pytest.fixture
def server(tmp_path) -> ServerProcess:
    spool = tmp_path / "spool"  # where Starlette spools uploads past 1 MB
    spool.mkdir()
    env = {"TMPDIR": str(spool), "PLASTICVISION_UPLOAD_GRACE_S": str(GRACE_S)}
    with server_process(tmp_path / "data", tmp_path / "server.log", env=env) as running:
        yield running


def multipart(parts: list[tuple[str, str, bytes]]) -> bytes:
    body = b""
    for field, filename, data in parts:
        body += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode() + data + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def request_head(server: ServerProcess, method: str, path: str, length: int | None = None) -> bytes:
    host = server.url.removeprefix("http://")
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if length is not None:
        head += f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n"
    return (head + "\r\n").encode()


def connect(server: ServerProcess, receive_buffer: int | None = None) -> socket.socket:
    sock = socket.socket()
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    host, port = server.url.removeprefix("http://").split(":")
    sock.connect((host, int(port)))
    return sock


def settled_descriptors(server: ServerProcess, baseline: int, timeout: float = 10) -> int:
    """The server's open descriptors once they are back to `baseline` (or what they are at the timeout)."""
    deadline = time.monotonic() + timeout
    while (count := len(server.open_files())) > baseline and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


def test_hanging_up_mid_upload_or_mid_download_leaves_nothing_behind(server, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", size=(320, 240), seconds=2.0)
    post_job(server.url, clip, "done-one")
    wait_for(server.url, "done-one", lambda r: r["state"] == "done")
    baseline = len(server.open_files())
    spooled_before = files_under(tmp_path / "spool")  # what the libraries keep there (onnxruntime's .ses)

    for path in ("/jobs/video", "/swap-image", "/upload-source-faces"):
        parts = [("source_files", "face.png", SOURCE.read_bytes()), ("target_file", "big.mp4", os.urandom(4 << 20))]
        body = multipart(parts)
        sock = connect(server)
        sock.sendall(request_head(server, "POST", path, len(body)) + body[: len(body) // 2])
        time.sleep(0.5)  # the server is spooling the part to disk
        spooled = [target for target in server.open_files() if "spool" in target]
        sock.close()
        assert spooled, f"{path}: the upload was not spooled to disk (so this test checks nothing)"
    for _ in range(3):  # hang up after the first bytes of the result
        sock = connect(server, receive_buffer=4096)
        sock.sendall(request_head(server, "GET", "/jobs/done-one/result"))
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        sock.close()

    whole = httpx.get(f"{server.url}/jobs/done-one/result", timeout=30)
    assert whole.status_code == 200 and len(whole.content) == job_bytes(server, "done-one")
    assert settled_descriptors(server, baseline) <= baseline, server.open_files()
    assert files_under(tmp_path / "spool") == spooled_before
    data = tmp_path / "data"
    assert files_under(data / "uploads") == [] and files_under(data / "tmp") == []
    assert [job["job_id"] for job in httpx.get(f"{server.url}/jobs", timeout=10).json()] == ["done-one"]
    assert_no_server_errors(server.log())


def job_bytes(server: ServerProcess, job_id: str) -> int:
    return httpx.get(f"{server.url}/jobs/{job_id}", timeout=10).json()["result_bytes"]


def test_a_body_at_one_byte_per_second_is_cut_off_after_the_grace_time(server, tmp_path):
    body = multipart([("files", "face.png", SOURCE.read_bytes())])
    face = {"file": ("f.png", SOURCE.read_bytes())}
    baseline = len(server.open_files())
    spooled_before = files_under(tmp_path / "spool")  # what the libraries keep there (onnxruntime's .ses)
    sock = connect(server)
    sock.sendall(request_head(server, "POST", "/upload-source-faces", len(body)))
    started = time.monotonic()
    answer = bytearray()

    def trickle() -> None:
        for byte in body:
            if answer:  # the server has answered: stop, as a client reading its answer would
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # cut off
                return
            time.sleep(1.0)

    closed_at = []

    def read() -> None:
        try:
            while chunk := sock.recv(4096):
                answer.extend(chunk)
        except ConnectionResetError:
            # A byte trickled in after the server closed (before this thread read the answer and the
            # FIN) makes the server's kernel answer with a reset: the connection was cut off all the same.
            pass
        closed_at.append(time.monotonic())

    threads = [threading.Thread(target=trickle, daemon=True), threading.Thread(target=read, daemon=True)]
    for thread in threads:
        thread.start()
    others = []
    while threads[1].is_alive() and time.monotonic() - started < GRACE_S + 10:
        begun = time.monotonic()
        response = httpx.get(f"{server.url}/status", timeout=30)
        others.append((response.status_code, time.monotonic() - begun))
        time.sleep(0.1)
        if len(others) == 3:  # and a request that does real work, while the slow body still trickles
            detected = httpx.post(f"{server.url}/detect-faces", files=face, timeout=30)
    threads[1].join(timeout=5)
    sock.close()
    assert closed_at, "the slow client was never cut off"
    cut_after = closed_at[0] - started

    assert answer.startswith(b"HTTP/1.1 408"), bytes(answer[:200])
    assert b"slower than" in answer
    assert GRACE_S - 0.5 <= cut_after < GRACE_S + 3, cut_after  # the server starts its clock as the headers arrive
    assert len(others) >= 4 and all(code == 200 and took < 3 for code, took in others), f"others were held up: {others}"
    assert detected.status_code == 200 and detected.headers["x-faces-found"] == "1"
    assert settled_descriptors(server, baseline) <= baseline, server.open_files()
    assert files_under(tmp_path / "spool") == spooled_before
    assert_no_server_errors(server.log())
