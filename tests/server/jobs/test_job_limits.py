"""Video jobs within bounds: queue and quotas (429), disk room (507), and limits held on the decoded frames."""

from __future__ import annotations

import time
from pathlib import Path

import av
import pytest
from fastapi.testclient import TestClient

from plasticvision.config import ServerConfig
from plasticvision.server.app import create_app
from tests.support.video_clips import make_clip
from tests.video.test_video_formats import transport_stream

SOURCE = Path(__file__).parents[2] / "data" / "Tom_Hanks_54745.png"


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """Still running when the next request comes (it is cancelled then)."""
    return make_clip(tmp_path_factory.mktemp("limits") / "long.mp4", size=(320, 240), seconds=12.0, audio=False)


def uploads(video: Path, name: str | None = None) -> list:
    return [
        ("source_files", ("face.png", SOURCE.read_bytes(), "image/png")),
        ("target_file", (name or video.name, video.read_bytes(), "video/mp4")),
    ]


def client_for(tmp_path: Path, swapper, **options) -> TestClient:
    config = ServerConfig(engine="dlib", data_dir=tmp_path / "data", max_video_jobs=1, **options)
    return TestClient(create_app(config, swapper))


def finished(client: TestClient, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while (record := client.get(f"/jobs/{job_id}").json())["state"] not in ("done", "failed", "cancelled"):
        assert time.monotonic() < deadline, record
        time.sleep(0.05)
    return record


def test_a_new_session_id_does_not_reset_the_address_quota(tmp_path, swapper, long_clip):
    with client_for(tmp_path, swapper, max_video_jobs_per_client=1) as client:
        first = client.post("/jobs/video", files=uploads(long_clip), headers={"X-Session-Id": "alice-1"})
        assert first.status_code == 202, first.text
        again = client.post("/jobs/video", files=uploads(long_clip), headers={"X-Session-Id": "alice-2"})
        assert again.status_code == 429, again.text
        assert "this address already has 1 video jobs" in again.json()["detail"]
        assert int(again.headers["Retry-After"]) >= 1
        client.delete(f"/jobs/{first.json()['job_id']}", headers={"X-Session-Id": "alice-1"})
        assert not list((tmp_path / "data" / "uploads").iterdir()), "a deleted job's upload is gone at once"


def test_a_full_queue_is_a_429_before_the_upload_is_read(tmp_path, swapper, long_clip):
    with client_for(tmp_path, swapper, max_video_queue=1) as client:
        first = client.post("/jobs/video", files=uploads(long_clip), headers={"X-Session-Id": "a"})
        full = client.post("/jobs/video", files=uploads(long_clip), headers={"X-Session-Id": "b"})
        assert full.status_code == 429 and "the video queue is full" in full.json()["detail"]
        assert full.headers["Connection"] == "close" and "Retry-After" in full.headers
        assert len(client.get("/jobs", headers={"X-Session-Id": "b"}).json()) == 0  # not even a record
        client.delete(f"/jobs/{first.json()['job_id']}", headers={"X-Session-Id": "a"})


def test_no_room_on_disk_is_a_507_before_the_upload_is_spooled(tmp_path, swapper, long_clip):
    with client_for(tmp_path, swapper, min_free_mb=10**9) as client:  # a petabyte free: no disk has it
        refused = client.post("/jobs/video", files=uploads(long_clip))
        assert refused.status_code == 507 and "not enough disk space" in refused.json()["detail"]
        assert client.get("/jobs").json() == []


@pytest.mark.parametrize("name", ["playlist.m3u8", "animated.gif"])
def test_playlists_and_gifs_are_refused_with_a_415(tmp_path, swapper, name):
    path = tmp_path / name
    if name.endswith(".m3u8"):
        path.write_text("#EXTM3U\n#EXTINF:1,\n/etc/passwd\n#EXT-X-ENDLIST\n")
    else:
        path.write_bytes(b"GIF89a" + bytes(200))
    with client_for(tmp_path, swapper) as client:
        refused = client.post("/jobs/video", files=uploads(path))
        assert refused.status_code == 415, refused.text
        assert ("playlist" if name.endswith(".m3u8") else "animated GIF") in refused.json()["detail"]
        assert not list((tmp_path / "data" / "uploads").iterdir())


def live_matroska(path: Path, clip: Path) -> Path:
    """The clip's video remuxed as a live Matroska: its header gives no duration and no frame count."""
    with av.open(str(clip)) as source, av.open(str(path), "w", format="matroska", options={"live": "1"}) as out:
        stream = out.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.size:
                packet.stream = stream
                out.mux(packet)
    return path


def test_a_duration_less_stream_is_stopped_at_the_duration_limit(tmp_path, swapper):
    clip = make_clip(tmp_path / "clip.mp4", size=(160, 120), seconds=3.0, fps=10, audio=False)
    endless = live_matroska(tmp_path / "endless.mkv", clip)
    with client_for(tmp_path, swapper, max_video_s=1.0) as client:
        job = client.post("/jobs/video", files=uploads(endless)).json()
        record = finished(client, job["job_id"])
    assert record["state"] == "failed"
    assert "duration limit reached at frame 11 (1.1 s)" in record["error"], record["error"]
    assert not list((tmp_path / "data" / "tmp").iterdir()) and not list((tmp_path / "data" / "results").iterdir())


def test_a_resolution_jump_mid_stream_is_stopped_at_the_pixel_limit(tmp_path, swapper):
    small = transport_stream(tmp_path / "small.ts", (160, 120), frames=20)
    large = transport_stream(tmp_path / "large.ts", (640, 480), frames=10, start=20)
    jumping = tmp_path / "jumping.ts"
    jumping.write_bytes(small.read_bytes() + large.read_bytes())  # the header says 160x120
    with client_for(tmp_path, swapper, max_video_pixels=100_000) as client:
        job = client.post("/jobs/video", files=uploads(jumping)).json()
        record = finished(client, job["job_id"])
    assert record["state"] == "failed"
    assert "pixel limit reached at frame 20 (" in record["error"] and "640x480" in record["error"], record["error"]
