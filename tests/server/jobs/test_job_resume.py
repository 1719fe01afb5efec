"""A job's chunks as checkpoints, in one process: stop after a chunk, go on later, get the uninterrupted file.

The real-process versions (SIGKILL, a crash loop, SIGTERM) are in test_faults.py; these are the fast ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plasticvision.server.jobs.chunk_queue import Interrupted
from plasticvision.server.jobs.chunked import ChunkedVideoSwap, PoolChunks
from plasticvision.server.jobs.ledger import ChunkLedger, JobChunks
from plasticvision.server.jobs.spec import JobSpec
from plasticvision.video.limits import VideoLimits
from tests.support.chunk_checks import assert_differs_only_near_joins, assert_same_timing_and_sound, hanks_session
from tests.support.video_clips import make_clip, read_frames

FRAMES = 60  # two chunks of 30 (the shortest a chunk may be: two detection periods)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("resume") / "clip.mp4"
    return make_clip(path, size=(240, 180), seconds=FRAMES / 15, fps=15, keyframe_every=10)


@pytest.fixture(scope="module")
def swap(swapper):
    chunked = ChunkedVideoSwap(PoolChunks(swapper.pool), chunk_s=1.0, limits=VideoLimits(10**6, 60))
    yield chunked
    chunked.close()


@pytest.fixture(scope="module")
def session(swapper, read_test_image):
    return hanks_session(swapper, read_test_image("Tom_Hanks_54745.png"))


def job_chunks(folder: Path, job_id: str, draining=lambda: False) -> JobChunks:
    (folder / job_id).mkdir(parents=True, exist_ok=True)
    return JobChunks(job_id, ChunkLedger(folder / "jobs.sqlite3"), folder / job_id, "clip.mp4", draining)


def test_a_job_stopped_after_a_chunk_goes_on_from_there_and_ends_as_an_uninterrupted_one(
    swap, session, clip, tmp_path
):
    whole = tmp_path / "whole.mp4"
    swap(session, session.settings, clip, whole, job=job_chunks(tmp_path, "whole"))

    stopping = job_chunks(tmp_path, "stopped", draining=lambda: bool(list((tmp_path / "stopped").glob("chunk-*"))))
    with pytest.raises(Interrupted):
        swap(session, session.settings, clip, tmp_path / "resumed.mp4", job=stopping)
    ledger = stopping.ledger
    resume_at = ledger.first_unfinished("stopped")
    assert resume_at is not None and 0 < resume_at < FRAMES
    frames_after = []
    resumed = tmp_path / "resumed.mp4"
    result = swap(
        session, session.settings, clip, resumed, job=job_chunks(tmp_path, "stopped"),
        on_progress=lambda progress: frames_after.append(progress.frames_done),
    )
    assert frames_after[0] == resume_at, "progress starts from the finished chunks' frames"
    assert result.progress.frames_done == FRAMES and [c.index for c in result.chunks] == [0, 1]
    assert_same_timing_and_sound(resumed, whole)
    assert_differs_only_near_joins(resumed, whole, joins=[], lossless=False)


def test_a_damaged_chunk_file_is_run_again(swap, session, clip, tmp_path):
    job = job_chunks(tmp_path, "damaged")
    swap(session, session.settings, clip, tmp_path / "first.mp4", job=job)
    second = job.paths(job.ledger.plan("damaged"))[1]
    damaged = bytearray(second.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    second.write_bytes(bytes(damaged))
    assert sorted(job.ledger.finished("damaged", job.paths(job.ledger.plan("damaged")))) == [0]
    ran = []
    swap(session, session.settings, clip, tmp_path / "again.mp4", job=job, on_progress=lambda p: ran.append(p))
    assert ran[0].frames_done == FRAMES - (job.ledger.plan("damaged")[1].frames)
    assert len(read_frames(tmp_path / "again.mp4")) == FRAMES


def test_a_job_spec_comes_back_with_its_face_map_and_settings(session, swapper, read_test_image, tmp_path):
    mapped = swapper.new_session()
    mapped.face_map.add_identity("hanks", [read_test_image("Tom_Hanks_54745.png")])
    spec = JobSpec.of(mapped, mapped.settings.model_copy(update={"opacity": 0.5}), "clip.mp4")
    spec.save(tmp_path / "job.npz")
    back = JobSpec.load(tmp_path / "job.npz")
    assert back.settings == spec.settings and back.filename == "clip.mp4"
    assert [i.name for i in back.face_map.identities] == ["hanks"]
    ours, theirs = spec.face_map.identities[0], back.face_map.identities[0]
    assert np.array_equal(np.asarray(ours.embedding), np.asarray(theirs.embedding))
    plain = JobSpec.load(save_spec(JobSpec.of(session, session.settings, "x.mp4"), tmp_path / "plain.npz"))
    for a, b in zip(session.sources, plain.sources):
        assert np.array_equal(a.embedding, b.embedding)


def save_spec(spec: JobSpec, path: Path) -> Path:
    spec.save(path)
    return path
