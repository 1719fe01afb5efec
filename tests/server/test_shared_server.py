"""A server shared by strangers: rate limits, required session ids, and video limits checked up front."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.server.test_video_api import uploads
from plasticvision.server.middleware.ratelimit import RateLimit, RateLimited, RateLimiter
from plasticvision.video.limits import VideoLimits, VideoTooLarge

SOURCE = Path(__file__).parents[1] / "data" / "Tom_Hanks_54745.png"


def face_file(field: str) -> tuple[str, tuple[str, bytes, str]]:
    return field, ("face.png", SOURCE.read_bytes(), "image/png")


def declared_clip(path: Path, size: tuple[int, int], times_s: list[float], noise: bool = False) -> Path:
    """A tiny H.264 MP4 whose frames sit at `times_s`: two frames can declare ten hours."""
    rng = np.random.default_rng(0)
    time_base = Fraction(1, 1000)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25, options={"preset": "ultrafast", "crf": "0" if noise else "23"})
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.time_base = video.codec_context.time_base = time_base
        for at in times_s:
            shape = (size[1], size[0], 3)
            pixels = rng.integers(0, 256, shape, np.uint8) if noise else np.full(shape, 90, np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="bgr24")
            frame.pts, frame.time_base = int(at * 1000), time_base
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
    return path


@pytest.fixture(scope="module")
def absurd(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("absurd")
    return {
        "ten_hours": declared_clip(folder / "ten-hours.mp4", (320, 240), [0, 36000]),
        "8k": declared_clip(folder / "8k.mp4", (7680, 4320), [0]),
    }


def test_a_video_declaring_an_absurd_duration_or_resolution_is_refused_at_once(make_app, absurd):
    with TestClient(make_app()) as client:
        for name, words in (("ten_hours", "36,000 s long"), ("8k", "7680x4320")):
            response = client.post("/jobs/video", files=uploads(absurd[name], f"{name}.mp4"))
            assert response.status_code == 413, response.text
            assert words in response.json()["detail"] and "PLASTICVISION_MAX_VIDEO" in response.json()["detail"]
        jobs = client.get("/jobs").json()
        assert {job["state"] for job in jobs} == {"failed"} and all("limit" in job["error"] for job in jobs)
        # Refused by the submit call itself, from the container's header: not one frame was decoded.
        assert [job["frames_done"] for job in jobs] == [0, 0], jobs


def test_the_frame_limit_follows_the_duration_limit():
    limits = VideoLimits(max_pixels=1920 * 1080, max_duration_s=10)
    limits.check("ok.mp4", 1920, 1080, 10.0, 1200)
    with pytest.raises(VideoTooLarge, match="1,201 frames"):
        limits.check("many.mp4", 640, 480, 5.0, 1201)


def test_videos_have_their_own_size_limit(make_app, tmp_path):
    """Images stay under PLASTICVISION_MAX_UPLOAD_MB; a video may be as large as PLASTICVISION_MAX_VIDEO_MB."""
    video = declared_clip(tmp_path / "noise.mp4", (320, 240), [i / 25 for i in range(12)], noise=True)
    assert 1.2 * 1024**2 < video.stat().st_size < 3 * 1024**2, video.stat().st_size
    with TestClient(make_app(max_upload_mb=1, max_video_mb=3)) as client:
        accepted = client.post("/jobs/video", files=uploads(video))
        assert accepted.status_code == 202, accepted.text
        image = [face_file("source_files"), ("target_file", ("big.png", video.read_bytes(), "image/png"))]
        assert client.post("/swap-image", files=image).status_code == 413
    with TestClient(make_app(max_upload_mb=1, max_video_mb=1)) as client:
        refused = client.post("/jobs/video", files=uploads(video))
        assert refused.status_code == 413 and "limit" in refused.json()["detail"]


def test_rate_limits_answer_429_with_retry_after(make_app):
    with TestClient(make_app(rate_limit="2/minute")) as client:
        for _ in range(2):
            assert client.post("/detect-faces", files=[face_file("file")]).status_code == 200
        refused = client.post("/swap-image", files=uploads(SOURCE.read_bytes(), "t.png"))
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 30
        assert "2 per 60 s" in refused.json()["detail"]
        assert client.get("/status").status_code == 200, "reads are not rate limited"


def test_a_token_bucket_per_client_refills_over_time():
    now = [0.0]
    limiter = RateLimiter(RateLimit.parse("3/second"), clock=lambda: now[0])
    for _ in range(3):
        limiter.hit("a")
    with pytest.raises(RateLimited) as refused:
        limiter.hit("a")
    assert refused.value.headers == {"Retry-After": "1"}
    limiter.hit("b")  # another address has its own bucket
    now[0] = 0.34
    limiter.hit("a")  # one token back after a third of a second
    with pytest.raises(RateLimited):
        limiter.hit("a")


def test_a_server_that_requires_sessions_refuses_the_shared_default_one(make_app):
    with TestClient(make_app(require_session=True)) as client:
        assert client.get("/").status_code == 200, "health stays open"
        refused = client.get("/status", headers={"X-Session-Id": "default"})
        assert refused.status_code == 400 and "POST /sessions" in refused.json()["detail"]
        blank = client.get("/status")  # a read without an id sees a blank session, and creates none
        assert blank.status_code == 200 and blank.json()["faces_loaded"] == 0
        invented = client.get("/status", headers={"X-Session-Id": "0123456789abcdef0123456789abcdef"})
        assert invented.status_code == 403 and "not issued" in invented.json()["detail"]
        upload = client.post("/upload-source-faces", files=[face_file("files")])  # a write without an id
        mine = upload.headers["X-Session-Id"]  # ... gets one, issued
        assert upload.status_code == 200
        assert client.get("/status", headers={"X-Session-Id": mine}).json()["faces_loaded"] == 1
        with client.websocket_connect("/ws/stream") as ws:
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert closed.value.code == 1008 and "session" in closed.value.reason
        with client.websocket_connect(f"/ws/stream?session={mine}") as ws:
            assert ws.receive_json() == {"status": "connected"}
