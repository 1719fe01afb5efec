"""`verify` on what users really pass around: frames captured from the live WebSocket stream, the camera
command's MP4, a swapped image over POST /verify and the CLI (exit 0 when marked, 1 when not)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from plasticvision.cli import main
from plasticvision.provenance.detect import detect
from plasticvision.provenance.verify import WINDOW, verify_bytes
from plasticvision.provenance.watermark import Watermarker
from tests.support.video_clips import make_clip

DATA = Path(__file__).parents[1] / "data"
SOURCE = DATA / "Tom_Hanks_54745.png"


def cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "plasticvision", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def client(make_app) -> TestClient:
    client = TestClient(make_app())
    files = [("files", ("hanks.png", SOURCE.read_bytes(), "image/png"))]
    assert client.post("/upload-source-faces", files=files).status_code == 200
    return client


def test_frames_captured_from_the_live_stream_are_marked(client, read_test_image):
    photo = read_test_image("astronaut.png")
    frames = [cv2.resize(photo[y : y + 400, x : x + 400], (640, 480)) for x, y in ((40, 20), (60, 30), (80, 40))]
    with client.websocket_connect("/ws/stream") as ws:
        assert ws.receive_json() == {"status": "connected"}
        for frame in frames:
            ws.send_bytes(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes())
            report = verify_bytes(ws.receive_bytes())  # a screenshot of the stream: no file credentials
            assert report.watermark.marked and report.marked
            assert report.credentials.state == "none"


def test_the_camera_commands_mp4_is_marked(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", size=(480, 360), seconds=1.0, audio=False)
    out = tmp_path / "out.mp4"
    camera = cli("camera", "--source", str(SOURCE), "--input", str(clip), "--local", "--engine", "dlib", "--output", str(out))
    assert camera.returncode == 0, camera.stderr
    report = verify_bytes(out.read_bytes())
    assert report.kind == "video" and report.credentials.state == "untrusted"
    assert report.watermark.marked and report.watermark.fraction >= 0.6, report.to_json()  # 12 of 15 here


def lossless_mp4(frames: list[np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30, options={"crf": "0"})
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        container.mux(stream.encode())
    return buffer.getvalue()


def test_a_video_is_searched_in_windows_of_frames(swapper, read_test_image):
    """A mark too faint for any one frame (as a codec's predicted frames keep it on a moving camera) is found
    in windows of WINDOW frames: the picture moves from frame to frame, the mark stays at its pixels."""
    photo = read_test_image("astronaut.png")
    mark = Watermarker(0x3C5A17).mark_faces(photo.copy(), swapper.detect(photo)[:1]).astype(np.float32) - photo
    frames = [np.clip(np.roll(photo, (9 * k, 4 * k), axis=(0, 1)) + 0.2 * mark, 0, 255).astype(np.uint8) for k in range(2 * WINDOW)]
    assert not any(detect(frame).marked for frame in frames[:3])
    report = verify_bytes(lossless_mp4(frames)).watermark
    assert report.window == WINDOW and report.frames_checked == 2 * WINDOW
    assert report.frames_marked == 2 * WINDOW and report.marked, report.to_json()


def test_a_mark_that_moves_with_the_picture_is_found_frame_by_frame(swapper, read_test_image):
    """A re-edit that pans over a marked video moves the mark with the picture: it blurs in a window's
    mean, and each frame of the window is then searched alone."""
    photo = read_test_image("astronaut.png")
    marked = Watermarker(0x3C5A17).mark_faces(photo.copy(), swapper.detect(photo)[:1])
    report = verify_bytes(lossless_mp4([np.roll(marked, (0, 6 * k), axis=(0, 1)) for k in range(WINDOW)])).watermark
    assert report.frames_marked == report.frames_checked == WINDOW and report.marked, report.to_json()


def test_post_verify_reads_both_marks_of_a_swapped_image(client):
    files = [("target_file", ("a.png", (DATA / "astronaut.png").read_bytes(), "image/png"))]
    swapped = client.post("/swap-image", files=[*files, ("source_files", ("h.png", SOURCE.read_bytes(), "image/png"))])
    body = client.post("/verify", files={"file": ("swapped.png", swapped.content, "image/png")}).json()
    assert body["marked"] and body["kind"] == "image"
    assert body["credentials"]["state"] == "untrusted" and body["watermark"]["marked"]
    original = client.post("/verify", files={"file": ("a.png", (DATA / "astronaut.png").read_bytes(), "image/png")})
    assert original.status_code == 200 and not original.json()["marked"]


@pytest.mark.parametrize("data", [b"", b"hello, not a picture"])
def test_post_verify_refuses_what_is_not_a_picture(client, data):
    response = client.post("/verify", files={"file": ("x.bin", data, "application/octet-stream")})
    assert response.status_code == 415, response.text


def test_post_verify_never_follows_an_uploaded_playlist(client, tmp_path):
    """An HLS playlist naming a local video: FFmpeg left to probe would read that file; the allow-list refuses."""
    clip = make_clip(tmp_path / "local.mp4", seconds=1.0)
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{clip}\n#EXT-X-ENDLIST\n".encode()
    response = client.post("/verify", files={"file": ("x.m3u8", playlist, "application/vnd.apple.mpegurl")})
    assert response.status_code == 415, response.text


def test_the_cli_exit_code_says_whether_it_is_marked(client, tmp_path, monkeypatch, capsys):
    files = [("target_file", ("a.png", (DATA / "astronaut.png").read_bytes(), "image/png"))]
    swapped = client.post("/swap-image", files=[*files, ("source_files", ("h.png", SOURCE.read_bytes(), "image/png"))])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(swapped.content)))
    assert main(["verify", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["credentials"]["state"] == "untrusted"
    assert main(["verify", str(DATA / "coffee.png")]) == 1
    assert "not marked" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "nothing.png")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
