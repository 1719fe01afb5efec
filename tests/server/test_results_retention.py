"""Finished jobs and their results expire after the TTL, and the results folder stays within its budget.

Jobs run for real through the HTTP API; the retention sweep is then driven by a clock the test
controls, so a day passes in no time.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.server.test_video_api import events, uploads, wait_until
from tests.support.video_clips import make_clip
from plasticvision.config import ServerConfig
from plasticvision.server.app import create_app
from plasticvision.server.jobs.retention import Retention
from plasticvision.server.jobs.store import JobState

DAY_S = 86400.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("retention") / "short.mp4", size=(160, 120), seconds=0.5, audio=False)


def finished_job(client: TestClient, clip: Path) -> dict:
    job_id = client.post("/jobs/video", files=uploads(clip)).json()["job_id"]
    assert events(client, job_id)[-1][0] == "done"
    return client.get(f"/jobs/{job_id}").json()


def test_results_expire_after_the_ttl_and_the_oldest_go_first_over_the_budget(tmp_path, swapper, clip):
    data_dir = tmp_path / "data"
    with TestClient(create_app(ServerConfig(engine="dlib", data_dir=data_dir), swapper)) as client:
        jobs = client.app.state.video_jobs
        first, second, third = (finished_job(client, clip) for _ in range(3))
        jobs.store.create("still-running", "clip.mp4", frames_total=10)
        jobs.store.update("still-running", state=JobState.RUNNING.value)
        sizes = {job["job_id"]: job["result_bytes"] for job in (first, second, third)}
        now = time.time()

        def retention(at: float, max_bytes: int = 10**12) -> Retention:
            return Retention(jobs.store, jobs.files, ttl_s=DAY_S, max_bytes=max_bytes, clock=lambda: at)

        assert retention(now + DAY_S - 60).sweep() == [], "nothing is a day old yet"
        budget = sizes[second["job_id"]] + sizes[third["job_id"]]
        assert retention(now, max_bytes=budget).sweep() == [first["job_id"]], "the oldest goes first"
        assert client.get(f"/jobs/{first['job_id']}").status_code == 404
        assert client.get(f"/jobs/{first['job_id']}/result").status_code == 404
        assert client.get(f"/jobs/{third['job_id']}/result").status_code == 200
        results = data_dir / "results"
        assert sum(path.stat().st_size for path in results.iterdir()) <= budget

        assert sorted(retention(now + DAY_S + 1).sweep()) == sorted([second["job_id"], third["job_id"]])
        assert list(results.iterdir()) == []
        assert [job["job_id"] for job in client.get("/jobs").json()] == ["still-running"], "running jobs stay"


def test_the_server_sweeps_on_its_own(tmp_path, swapper, clip):
    config = ServerConfig(engine="dlib", data_dir=tmp_path / "data", result_ttl_s=1.0)
    with TestClient(create_app(config, swapper)) as client:
        job = finished_job(client, clip)
        assert client.get(f"/jobs/{job['job_id']}/result").status_code == 200
        wait_until(lambda: client.get(f"/jobs/{job['job_id']}").status_code == 404, timeout=10)
        assert list((tmp_path / "data" / "results").iterdir()) == []
