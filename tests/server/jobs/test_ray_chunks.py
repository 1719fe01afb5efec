"""Video jobs over Ray actors on a local Ray instance (2 CPUs): the same checks as on the local pool,
with the default lossy encoder, and a worker killed in the middle of a chunk."""

from __future__ import annotations

import os
import signal
import time

import pytest
from fastapi.testclient import TestClient

from tests.support.chunk_checks import (
    FRAMES,
    LOSSY_LANDMARK_PX,
    assert_differs_only_near_joins,
    assert_no_jump_at_joins,
    assert_same_timing_and_sound,
    chunk_clip,
    hanks_session,
    join_frames,
    single_pass,
)
from tests.support.optional_parts import need_module
from tests.support.video_clips import read_frames
from plasticvision.config import ServerConfig
from plasticvision.server import create_app
from plasticvision.server.jobs.chunked import ChunkedVideoSwap
from plasticvision.video.process import Cancelled



@pytest.fixture(scope="session")
def local_ray():
    """One local Ray for the whole test session (its start-up costs seconds), shut down at the end."""
    need_module("ray", "ray")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def executor(local_ray):
    """Two actors (one per CPU of the local Ray), shared by the tests below and stopped at the end."""
    from plasticvision.server.jobs.ray_runner import RayChunks

    executor = RayChunks("auto", "dlib")
    yield executor
    executor.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return chunk_clip(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="module")
def session(swapper, read_test_image):
    return hanks_session(swapper, read_test_image("Tom_Hanks_54745.png"))


@pytest.fixture(scope="module")
def single(clip, session, tmp_path_factory):
    return single_pass(session, clip, tmp_path_factory.mktemp("single"))


def test_a_video_job_runs_over_ray_actors_and_equals_the_single_pass(local_ray, clip, single, swapper, data_dir, tmp_path):
    config = ServerConfig(engine="dlib", ray_address="auto", video_chunk_s=1.0, data_dir=tmp_path / "data")
    with TestClient(create_app(config, swapper)) as client:
        executor = client.app.state.video_jobs.swap.executor
        files = [
            ("source_files", ("face.png", (data_dir / "Tom_Hanks_54745.png").read_bytes(), "image/png")),
            ("target_file", ("clip.mp4", clip.read_bytes(), "video/mp4")),
        ]
        response = client.post("/swap-video", files=files)
        assert response.status_code == 200, response.text
        pids = executor.worker_pids()
        assert len(pids) == 2 and os.getpid() not in pids  # one actor per CPU of the cluster, in processes of their own
        second = client.post("/swap-video", files=files)
        assert second.status_code == 200 and executor.worker_pids() == pids  # long-lived: the same actors again
    assert not executor.actors  # the app's shutdown stopped them
    output = tmp_path / "ray.mp4"
    output.write_bytes(response.content)
    joins = join_frames([30, 30, 30])
    assert_same_timing_and_sound(output, single)
    assert_differs_only_near_joins(output, single, joins, lossless=False)
    assert_no_jump_at_joins(swapper, output, single, joins, LOSSY_LANDMARK_PX)


def test_a_worker_killed_mid_chunk_has_its_chunk_retried_and_nothing_is_missing(executor, clip, session, single, swapper, tmp_path):
    killed = []

    def kill_one_worker_mid_chunk(progress) -> None:
        if not killed and 0 < progress.frames_done < 30:
            killed.append(executor.worker_pids()[0])
            os.kill(killed[0], signal.SIGKILL)

    output = tmp_path / "retried.mp4"
    progress = []
    result = ChunkedVideoSwap(executor, chunk_s=1.0)(
        session, session.settings, clip, output, on_progress=lambda p: (progress.append(p), kill_one_worker_mid_chunk(p))
    )
    assert killed and executor.lost_workers >= 1
    assert killed[0] not in executor.worker_pids()  # replaced by a fresh actor
    assert [c.frames for c in result.chunks] == [30, 30, 30]
    assert result.progress.frames_done == FRAMES and all(p.frames_done <= FRAMES for p in progress)
    assert len(read_frames(output)) == FRAMES
    joins = join_frames([30, 30, 30])
    assert_same_timing_and_sound(output, single)
    assert_differs_only_near_joins(output, single, joins, lossless=False)
    assert_no_jump_at_joins(swapper, output, single, joins, LOSSY_LANDMARK_PX)


def test_cancel_reaches_the_actors(executor, clip, session, tmp_path):
    started = time.monotonic()
    progress = []
    with pytest.raises(Cancelled):
        ChunkedVideoSwap(executor, chunk_s=1.0)(
            session,
            session.settings,
            clip,
            tmp_path / "cancelled.mp4",
            on_progress=progress.append,
            should_stop=lambda: bool(progress) and progress[-1].frames_done > 0,
        )
    assert list(tmp_path.iterdir()) == [] and progress[-1].frames_done < FRAMES
    assert time.monotonic() - started < 60
