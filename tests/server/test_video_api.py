"""The video HTTP API: /swap-video, the job API, its live events, cancel, bad uploads and restarts."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.video_clips import make_clip, read_frames
from plasticvision.config import ServerConfig
from plasticvision.server.app import create_app
from plasticvision.server.jobs.store import JobState, JobStore

SOURCE = Path(__file__).parents[1] / "data" / "Tom_Hanks_54745.png"


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("api") / "short.mp4", size=(320, 240), seconds=1.0)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """Long enough (for this suite) to still be running when the test cancels it."""
    return make_clip(tmp_path_factory.mktemp("api") / "long.mp4", size=(320, 240), seconds=12.0, audio=False)


def start_client(data_dir: Path, swapper) -> TestClient:
    config = ServerConfig(engine="dlib", data_dir=data_dir, max_video_jobs=1)
    return TestClient(create_app(config, swapper))


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def client(data_dir, swapper):
    with start_client(data_dir, swapper) as client:
        yield client


def uploads(video: Path | bytes, name: str = "clip.mp4") -> list:
    data = video if isinstance(video, bytes) else video.read_bytes()
    return [("source_files", ("face.png", SOURCE.read_bytes(), "image/png")), ("target_file", (name, data, "video/mp4"))]


def events(client: TestClient, job_id: str) -> list[tuple[str, int, dict]]:
    """(event name, id, data) for every SSE event, until the server ends the stream."""
    found, fields = [], {}
    with client.stream("GET", f"/jobs/{job_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if not line:
                if "event" in fields:
                    found.append((fields["event"], int(fields["id"]), json.loads(fields["data"])))
                fields = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                fields[key] = value
    return found


def wait_until(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_swap_video_answers_with_the_mp4(client, clip, tmp_path):
    response = client.post("/swap-video", files=uploads(clip), headers={"X-Job-Id": "mine-1"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["x-job-id"] == "mine-1"
    output = tmp_path / "out.mp4"
    output.write_bytes(response.content)
    assert len(read_frames(output)) == len(read_frames(clip))
    job = client.get("/jobs/mine-1").json()
    assert job["state"] == "done" and job["frames_done"] == job["frames_total"] == 15


def test_swap_video_can_be_followed_while_it_runs(client, clip):
    """The client picks the id, posts, and follows the events of the job its post creates."""
    answer = {}
    post = threading.Thread(
        target=lambda: answer.update(r=client.post("/swap-video", files=uploads(clip), data={"job_id": "followed"}))
    )
    post.start()
    wait_until(lambda: client.get("/jobs/followed").status_code == 200)  # the events of an unknown id are a 404
    seen = events(client, "followed")
    post.join(120)
    assert answer["r"].status_code == 200
    assert seen[-1][0] == "done"


def test_job_events_arrive_in_order_and_end_with_completion(client, clip):
    response = client.post("/jobs/video", files=uploads(clip))
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert response.headers["location"] == f"/jobs/{job_id}"
    seen = events(client, job_id)
    names = [name for name, _, _ in seen]
    assert [seq for _, seq, _ in seen] == list(range(len(seen)))
    assert names[0] == "queued" and names[-1] == "done" and names.count("done") == 1
    assert set(names[1:-1]) == {"progress"}
    frames = [data["frames_done"] for _, _, data in seen]
    assert frames == sorted(frames) and frames[-1] == 15
    progress = [data for name, _, data in seen if name == "progress" and data["stage"] == "processing"]
    assert all({"frames_done", "frames_total", "fps", "eta_s", "stage"} <= set(data) for data in progress)
    assert events(client, job_id)[-1][0] == "done", "a late follower still gets the ending"


def test_result_supports_range_requests(client, clip):
    job_id = client.post("/jobs/video", files=uploads(clip)).json()["job_id"]
    events(client, job_id)
    whole = client.get(f"/jobs/{job_id}/result")
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    part = client.get(f"/jobs/{job_id}/result", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert part.content == whole.content[100:200]


def test_cancel_stops_the_job_and_removes_its_files(client, long_clip, data_dir):
    job_id = client.post("/jobs/video", files=uploads(long_clip)).json()["job_id"]
    wait_until(lambda: client.get(f"/jobs/{job_id}").json()["frames_done"] > 0)
    assert client.get(f"/jobs/{job_id}/result").status_code == 409
    cancelled = client.delete(f"/jobs/{job_id}")
    assert cancelled.status_code == 200
    job = cancelled.json()
    assert job["state"] == "cancelled"
    assert 0 < job["frames_done"] < job["frames_total"] == 180
    assert events(client, job_id)[-1][0] == "cancelled"
    assert [p for p in (data_dir / "tmp").rglob("*")] == []
    assert [p for p in (data_dir / "uploads").rglob("*")] == []
    assert [p for p in (data_dir / "results").rglob("*")] == []
    time.sleep(0.5)
    assert client.get(f"/jobs/{job_id}").json()["frames_done"] == job["frames_done"], "the work went on"


def test_jobs_beyond_the_limit_wait_their_turn(client, long_clip, clip):
    first = client.post("/jobs/video", files=uploads(long_clip)).json()["job_id"]
    second = client.post("/jobs/video", files=uploads(clip)).json()["job_id"]
    wait_until(lambda: client.get(f"/jobs/{first}").json()["state"] == "running")
    assert client.get(f"/jobs/{second}").json()["state"] == "queued"
    assert client.delete(f"/jobs/{second}").json()["state"] == "cancelled"
    assert client.delete(f"/jobs/{first}").json()["state"] == "cancelled"
    assert [name for name, _, _ in events(client, second)] == ["cancelled"]  # ended: the record speaks


@pytest.mark.parametrize(
    "data, name",
    [
        (b"", "empty.mp4"),
        (b"hello, this is a text file\n" * 50, "notes.txt"),
        (SOURCE.read_bytes(), "photo.mp4"),
        (b"\x00\x00\x00\x20ftypisom" + bytes(range(256)) * 40, "broken.mp4"),
    ],
    ids=["empty", "text", "image", "corrupt"],
)
def test_bad_uploads_get_a_4xx_and_a_reason(client, data, name, data_dir):
    for path in ("/swap-video", "/jobs/video"):
        response = client.post(path, files=uploads(data, name))
        assert response.status_code == 415, response.text
        assert name in response.json()["detail"]
    assert all(job["state"] == "failed" for job in client.get("/jobs").json())
    assert [p for p in (data_dir / "uploads").rglob("*")] == []


def test_truncated_video_gets_a_4xx(client, clip):
    response = client.post("/swap-video", files=uploads(clip.read_bytes()[: clip.stat().st_size // 2]))
    assert 400 <= response.status_code < 500, response.text


def test_a_source_without_a_face_is_refused(client, clip):
    files = uploads(clip)
    files[0] = ("source_files", ("cat.png", (SOURCE.parent / "chelsea.png").read_bytes(), "image/png"))
    assert client.post("/jobs/video", files=files).status_code == 422


def test_job_ids_are_checked(client, clip):
    assert client.post("/jobs/video", files=uploads(clip), data={"job_id": "../etc"}).status_code == 422
    assert client.post("/jobs/video", files=uploads(clip), data={"job_id": "twice"}).status_code == 202
    assert client.post("/jobs/video", files=uploads(clip), headers={"X-Job-Id": "twice"}).status_code == 409
    client.delete("/jobs/twice")


def test_unknown_jobs_are_404_at_once(client):
    for method, path in [("GET", "/jobs/nope"), ("GET", "/jobs/nope/result"), ("GET", "/jobs/nope/events"), ("DELETE", "/jobs/nope")]:
        started = time.monotonic()
        assert client.request(method, path).status_code == 404, path
        assert time.monotonic() - started < 1.0, f"{path}: an unknown id must not make the client wait"


def test_a_restart_keeps_finished_jobs_and_fails_interrupted_ones(data_dir, swapper, clip):
    with start_client(data_dir, swapper) as client:
        job_id = client.post("/jobs/video", files=uploads(clip)).json()["job_id"]
        events(client, job_id)
        before = client.get(f"/jobs/{job_id}/result").content
    # a job that was running when the process died: a record and an upload, nothing else
    JobStore(data_dir / "jobs.sqlite3").create("crashed", "clip.mp4", frames_total=10)
    JobStore(data_dir / "jobs.sqlite3").update("crashed", state=JobState.RUNNING.value)
    (data_dir / "uploads" / "crashed").mkdir()
    (data_dir / "uploads" / "crashed" / "target.mp4").write_bytes(b"partial")

    with start_client(data_dir, swapper) as client:
        jobs = {job["job_id"]: job for job in client.get("/jobs").json()}
        assert jobs[job_id]["state"] == "done"
        assert client.get(f"/jobs/{job_id}/result").content == before
        assert jobs["crashed"]["state"] == "failed" and "interrupted" in jobs["crashed"]["error"]
        assert [name for name, _, _ in events(client, "crashed")] == ["failed"]
        assert not (data_dir / "uploads" / "crashed").exists()
        assert client.delete(f"/jobs/{job_id}").status_code == 200
        assert client.get(f"/jobs/{job_id}").status_code == 404
        assert not (data_dir / "results" / f"{job_id}.mp4").exists()


def test_the_api_key_guards_jobs_and_reaches_events_by_query(data_dir, swapper, clip):
    """Browsers' EventSource and <video src> cannot send headers, so those two take ?api_key= too."""
    config = ServerConfig(engine="dlib", data_dir=data_dir, api_key="sesame")
    with TestClient(create_app(config, swapper)) as client:
        assert client.post("/jobs/video", files=uploads(clip)).status_code == 401
        answer = client.post("/jobs/video", files=uploads(clip), headers={"X-API-Key": "sesame"})
        job_id, session = answer.json()["job_id"], answer.headers["X-Session-Id"]  # issued: none was sent
        assert client.get(f"/jobs/{job_id}").status_code == 401
        assert client.get(f"/jobs/{job_id}/events").status_code == 401
        assert client.get(f"/jobs/{job_id}/events?api_key=wrong").status_code == 403
        assert client.get(f"/jobs/{job_id}?api_key=sesame&session=made-up").status_code == 403  # not issued
        with client.stream("GET", f"/jobs/{job_id}/events?api_key=sesame&session={session}") as response:
            assert response.status_code == 200
            assert "event: done" in "\n".join(response.iter_lines())
        assert client.get(f"/jobs/{job_id}/result?api_key=sesame&session={session}").status_code == 200


def test_a_follower_that_leaves_does_not_stop_the_job(client, clip):
    job_id = client.post("/jobs/video", files=uploads(clip)).json()["job_id"]
    with client.stream("GET", f"/jobs/{job_id}/events") as response:
        next(line for line in response.iter_lines() if line.startswith("event:"))
    wait_until(lambda: client.get(f"/jobs/{job_id}").json()["state"] == "done")
    assert client.get(f"/jobs/{job_id}/result").status_code == 200


def test_jobs_are_private_to_the_session_that_started_them(client, clip, data_dir):
    """On a shared server, another user's jobs are neither listed nor reachable by id (404, as unknown)."""
    alice, bob = {"X-Session-Id": "alice"}, {"X-Session-Id": "bob"}
    job_id = client.post("/jobs/video", files=uploads(clip), headers=alice).json()["job_id"]
    with client.stream("GET", f"/jobs/{job_id}/events?session=alice") as response:
        assert "event: done" in "\n".join(response.iter_lines())
    assert [job["job_id"] for job in client.get("/jobs", headers=alice).json()] == [job_id]
    for headers in (bob, {}):  # another session, or the shared default one
        assert client.get("/jobs", headers=headers).json() == []
        for method, path in [("GET", f"/jobs/{job_id}"), ("GET", f"/jobs/{job_id}/result"),
                             ("GET", f"/jobs/{job_id}/events"), ("DELETE", f"/jobs/{job_id}")]:
            assert client.request(method, path, headers=headers).status_code == 404, (headers, path)
    assert client.get(f"/jobs/{job_id}/result?session=alice").status_code == 200
    assert client.delete(f"/jobs/{job_id}", headers=alice).status_code == 200
    assert not (data_dir / "results" / f"{job_id}.mp4").exists()


def test_a_data_dir_from_before_job_owners_is_upgraded(data_dir, swapper):
    """Job records written before jobs had owners belong to the default session."""
    import sqlite3

    data_dir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(data_dir / "jobs.sqlite3") as db:
        db.execute(
            "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, state TEXT NOT NULL, stage TEXT NOT NULL, created_at REAL NOT NULL,"
            " updated_at REAL NOT NULL, filename TEXT NOT NULL, frames_done INTEGER NOT NULL DEFAULT 0,"
            " frames_total INTEGER NOT NULL DEFAULT 0, fps REAL NOT NULL DEFAULT 0, eta_s REAL, error TEXT,"
            " result_bytes INTEGER)"
        )
        now = time.time()  # recent, so the results retention keeps it
        db.execute("INSERT INTO jobs (job_id, state, stage, created_at, updated_at, filename) VALUES"
                   " ('old', 'cancelled', 'cancelled', ?, ?, 'old.mp4')", (now, now))
    with start_client(data_dir, swapper) as client:
        assert [job["job_id"] for job in client.get("/jobs").json()] == ["old"]
        assert client.get("/jobs", headers={"X-Session-Id": "someone"}).json() == []
