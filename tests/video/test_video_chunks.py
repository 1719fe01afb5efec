"""Chunked video on the local device pool (`--devices cpu:2`): the same video as a single pass, in parallel.

Pixels are compared with a lossless encoder (both paths), so any difference is the swap's own,
not the encoder's; chunk_checks.py states the bounds. The Ray tests check the lossy default.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient

from tests.support.chunk_checks import (
    FRAMES,
    LOSSLESS_X264,
    assert_differs_only_near_joins,
    assert_no_jump_at_joins,
    assert_same_timing_and_sound,
    chunk_clip,
    hanks_session,
    join_frames,
    single_pass,
)
from tests.support.video_clips import read_frames
from plasticvision import FaceSwapper
from plasticvision.config import ServerConfig
from plasticvision.engines.devices import Device
from plasticvision.engines.pool import EnginePool, Replica
from plasticvision.pipeline.tracking import DETECT_EVERY
from plasticvision.server import create_app
from plasticvision.server.jobs.chunked import ChunkedVideoSwap, PoolChunks
from plasticvision.video.chunks import plan_chunks
from plasticvision.video.process import Cancelled
from plasticvision.video.reader import VideoReader
from plasticvision.video.writer import ENCODER_OPTIONS



class FailsAfter:
    """A real engine whose device dies after `renders` frames: every later render raises."""

    def __init__(self, engine, renders: int) -> None:
        self._engine, self.left = engine, renders

    def __getattr__(self, name: str):
        return getattr(self._engine, name)

    def render(self, *args, **kwargs):
        self.left -= 1
        if self.left < 0:
            raise RuntimeError("CUDA error: device-side assert triggered")
        return self._engine.render(*args, **kwargs)


@pytest.fixture(scope="module", autouse=True)
def lossless():
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(ENCODER_OPTIONS, "libx264", LOSSLESS_X264)
        yield


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return chunk_clip(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="module")
def pooled():
    return FaceSwapper("dlib", devices="cpu:2")


@pytest.fixture(scope="module")
def chunked(pooled):
    swap = ChunkedVideoSwap(PoolChunks(pooled.pool), chunk_s=1.0)
    yield swap
    swap.close()


@pytest.fixture(scope="module")
def session(pooled, read_test_image):
    return hanks_session(pooled, read_test_image("Tom_Hanks_54745.png"))


@pytest.fixture(scope="module")
def single(clip, session, tmp_path_factory):
    return single_pass(session, clip, tmp_path_factory.mktemp("single"))


def test_chunks_start_at_keyframes_cover_every_frame_once_and_warm_up_on_the_detection_cadence(clip):
    chunks = plan_chunks(clip, 4, min_frames=30)
    with VideoReader(clip) as reader:
        packets = list(reader.packet_times())
    keyframes = sorted(pts for pts, key in packets if key)
    assert [(c.start, c.stop) for c in chunks] == [(0, 30), (30, 60), (60, 90)]
    assert all(c.start_pts in keyframes and (c.seek_pts is None or c.seek_pts in keyframes) for c in chunks)
    assert all(c.warmup_from % DETECT_EVERY == 0 and c.warmup_frames >= DETECT_EVERY for c in chunks[1:])
    assert [c.stop_pts for c in chunks[:-1]] == [c.start_pts for c in chunks[1:]] and chunks[-1].stop_pts is None
    assert len(plan_chunks(clip, 8, min_frames=60)) == 1  # too short to split in two 60-frame halves


def test_chunked_over_two_replicas_equals_the_single_pass(chunked, clip, session, single, pooled, tmp_path):
    before = [replica.frames for replica in pooled.pool.replicas]
    output = tmp_path / "chunked.mp4"
    result = chunked(session, session.settings, clip, output)
    assert [(c.frames, c.warmup_frames) for c in result.chunks] == [(30, 0), (30, 15), (30, 15)]
    assert result.progress.frames_done == FRAMES and result.frames_with_swap == FRAMES
    assert all(replica.frames > count for replica, count in zip(pooled.pool.replicas, before))  # both devices worked
    joins = join_frames([c.frames for c in result.chunks])
    assert_same_timing_and_sound(output, single)
    assert_differs_only_near_joins(output, single, joins, lossless=True)
    assert_no_jump_at_joins(pooled, output, single, joins)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunked.mp4"]  # no chunk file left behind


def test_a_face_map_travels_with_the_chunks(chunked, clip, single, pooled, read_test_image, tmp_path):
    """A session with only a face map (no default sources): every chunk puts the mapped identity on the
    clip's person, as the single pass with the same source does."""
    mapped = pooled.new_session()
    mapped.face_map.add_identity("hanks", [read_test_image("Tom_Hanks_54745.png")])
    mapped.face_map.map_reference(read_frames(clip)[0], "hanks")
    output = tmp_path / "mapped.mp4"
    result = chunked(mapped, mapped.settings, clip, output)
    assert len(result.chunks) == 3 and result.frames_with_swap == FRAMES
    assert_differs_only_near_joins(output, single, join_frames([c.frames for c in result.chunks]), lossless=True)


def test_a_device_that_dies_mid_chunk_has_its_chunk_run_again_on_the_other(clip, session, single, pooled, tmp_path):
    dying = Replica(Device("cpu", 0), FailsAfter(pooled.engine, renders=10))
    pool = EnginePool([dying, Replica(Device("cpu", 1), pooled.pool.replicas[1].engine)])
    progress = []
    output = tmp_path / "retried.mp4"
    swap = ChunkedVideoSwap(PoolChunks(pool), chunk_s=1.0)
    try:
        result = swap(session, session.settings, clip, output, on_progress=progress.append)
    finally:
        swap.close()
    assert dying.errors >= 1 and "device-side assert" in dying.last_error
    assert [c.frames for c in result.chunks] == [30, 30, 30]  # every chunk, none missing
    assert result.progress.frames_done == FRAMES  # the dead attempt's frames were taken back, not counted twice
    assert all(p.frames_done <= FRAMES for p in progress)
    assert len(read_frames(output)) == FRAMES
    assert_same_timing_and_sound(output, single)
    assert_differs_only_near_joins(output, single, join_frames([30, 30, 30]), lossless=True)


def test_cancel_stops_every_chunk_and_leaves_no_file(chunked, clip, session, tmp_path):
    progress = []
    with pytest.raises(Cancelled):
        chunked(
            session,
            session.settings,
            clip,
            tmp_path / "cancelled.mp4",
            on_progress=progress.append,
            should_stop=lambda: bool(progress) and progress[-1].frames_done >= 10,
        )
    assert list(tmp_path.iterdir()) == []
    assert progress[-1].frames_done < FRAMES


def test_a_video_job_on_cpu2_is_chunked_and_counts_progress_over_all_chunks(clip, data_dir, tmp_path):
    config = ServerConfig(engine="dlib", devices="cpu:2", video_chunk_s=1.0, data_dir=tmp_path / "data")
    with TestClient(create_app(config)) as client:
        files = [
            ("source_files", ("face.png", (data_dir / "Tom_Hanks_54745.png").read_bytes(), "image/png")),
            ("target_file", ("clip.mp4", clip.read_bytes(), "video/mp4")),
        ]
        job = client.post("/jobs/video", files=files).json()
        seen = []
        deadline = time.monotonic() + 120
        while (record := client.get(f"/jobs/{job['job_id']}").json())["state"] not in ("done", "failed"):
            seen.append(record["frames_done"])
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert record["state"] == "done", record
        assert record["frames_done"] == record["frames_total"] == FRAMES
        assert seen == sorted(seen) and all(count <= FRAMES for count in seen)
        result = tmp_path / "result.mp4"
        result.write_bytes(client.get(f"/jobs/{job['job_id']}/result").content)
        assert len(read_frames(result)) == FRAMES
        devices = client.get("/status").json()["devices"]
        assert [d["device"] for d in devices] == ["cpu:0", "cpu:1"] and all(d["frames"] >= 30 for d in devices)


def test_the_cli_cuts_a_video_over_the_devices_it_is_given(clip, single, data_dir, tmp_path):
    output = tmp_path / "cli.mp4"
    done = subprocess.run(
        [sys.executable, "-m", "plasticvision", "swap-video", "--devices", "cpu:2", "--no-progress", str(clip)]
        + ["--source", str(data_dir / "Tom_Hanks_54745.png"), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PLASTICVISION_VIDEO_CHUNK_S": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert f"swapped a face in {FRAMES} of {FRAMES} frames in 3 chunks on cpu:0, cpu:1" in done.stdout
    assert_same_timing_and_sound(output, single)
