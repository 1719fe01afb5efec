"""`GET /metrics` after real work: counters move by exactly what was done; the guard; JSON request logs."""

from __future__ import annotations

import json
import logging
import time
import uuid

import cv2
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from plasticvision.server.middleware.logging_json import JsonFormatter
from plasticvision.server.sessions.ids import log_name

FACE = "Tom_Hanks_54745.png"


def samples(client: TestClient, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def files(data_dir, field: str, *names: str) -> list:
    return [(field, (name, (data_dir / name).read_bytes(), "image/png")) for name in names]


@pytest.fixture
def webcam_jpeg(read_test_image) -> bytes:
    return cv2.imencode(".jpg", cv2.resize(read_test_image("astronaut.png")[:384], (640, 480)))[1].tobytes()


def test_counters_move_by_what_the_server_did(make_app, data_dir, webcam_jpeg):
    with TestClient(make_app()) as client:
        client.headers["X-Session-Id"] = sid = uuid.uuid4().hex
        before = samples(client)
        assert client.post("/upload-source-faces", files=files(data_dir, "files", FACE)).status_code == 200
        assert client.post("/upload-source-faces", files=files(data_dir, "files", "chelsea.png")).status_code == 422
        for _ in range(2):
            swap = files(data_dir, "source_files", FACE) + files(data_dir, "target_file", "astronaut.png")
            assert client.post("/swap-image", files=swap).status_code == 200
        with client.websocket_connect(f"/ws/stream?session={sid}") as ws:
            ws.receive_text()
            for _ in range(3):  # one at a time: each gets its reply, none is dropped
                ws.send_bytes(webcam_jpeg)
                ws.receive_bytes()
            ws.send_bytes(b"not a jpeg")
            assert json.loads(ws.receive_text())["code"] == 415
            during = samples(client)
            for _ in range(6):  # a burst: every frame is either answered or dropped for a newer one
                ws.send_bytes(webcam_jpeg)
            deadline = time.monotonic() + 30
            while True:
                after = samples(client)
                done = sum(value(after, f"plasticvision_frames_{k}_total") for k in ("processed", "dropped"))
                if done >= 9 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
    assert value(during, "plasticvision_active_streams") == 1
    assert value(before, "plasticvision_active_streams") == 0
    moved = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
    assert value(during, "plasticvision_frames_processed_total") - value(before, "plasticvision_frames_processed_total") == 3
    assert value(moved, "plasticvision_frames_processed_total") + value(moved, "plasticvision_frames_dropped_total") == 9
    processed = value(moved, "plasticvision_frames_processed_total")
    assert value(moved, "plasticvision_stream_round_trip_seconds_count") == processed
    assert value(moved, "plasticvision_stream_errors_total", code="415") == 1
    assert value(moved, "plasticvision_image_swaps_total") == 2
    assert value(moved, "plasticvision_uploads_total", status="200") == 1
    assert value(moved, "plasticvision_uploads_total", status="422") == 1
    assert value(moved, "plasticvision_http_responses_total", route="/swap-image", status="200") == 2
    # every swap times its stages: 2 images + the processed stream frames (a frame that was swapped and
    # then overtaken on the way out still counts as swapped)
    detects = value(moved, "plasticvision_stage_seconds_count", stage="detect")
    assert 2 + processed <= detects <= 2 + 9
    assert value(moved, "plasticvision_stage_seconds_count", stage="swap") == detects  # one face in each
    assert value(after, "plasticvision_engine_info", engine="dlib", gpu="false", providers="dlib-cpu", version="0.1.0") == 1
    assert value(after, "plasticvision_session_store_up", store="memory") == 1
    assert value(after, "plasticvision_sessions") >= 2  # default + this test's
    assert value(after, "plasticvision_device_busy_threads", device="cpu") == 0


def test_video_jobs_show_by_state_and_their_frames_are_timed(make_app, data_dir, tmp_path):
    from tests.support.video_clips import make_clip

    clip = make_clip(tmp_path / "short.mp4", size=(320, 240), seconds=1.0)
    upload = files(data_dir, "source_files", FACE) + [("target_file", ("clip.mp4", clip.read_bytes(), "video/mp4"))]
    with TestClient(make_app()) as client:
        before = samples(client)
        assert client.post("/swap-video", files=upload).status_code == 200
        after = samples(client)
    assert value(before, "plasticvision_video_jobs", state="done") == 0
    assert value(after, "plasticvision_video_jobs", state="done") == 1
    assert value(after, "plasticvision_video_frames_per_second") == 0  # none running any more
    moved = value(after, "plasticvision_stage_seconds_count", stage="detect") - value(
        before, "plasticvision_stage_seconds_count", stage="detect"
    )
    assert moved == 15  # the clip's frames, each swapped once
    assert value(after, "plasticvision_http_responses_total", route="/swap-video", status="200") == 1


def test_metrics_need_the_api_key_when_the_server_has_one(make_app):
    with TestClient(make_app(api_key="k3y")) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"X-API-Key": "nope"}).status_code == 403
        assert client.get("/metrics", headers={"X-API-Key": "k3y"}).status_code == 200
        assert client.get("/metrics", headers={"Authorization": "Bearer k3y"}).status_code == 200


def test_a_metrics_token_replaces_the_api_key_for_metrics(make_app):
    with TestClient(make_app(api_key="k3y", metrics_token="t0ken")) as client:
        assert client.get("/metrics", headers={"X-API-Key": "k3y"}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
        found = samples(client, Authorization="Bearer t0ken")
        assert ("plasticvision_frames_processed_total", ()) in found
        assert client.get("/settings", headers={"Authorization": "Bearer t0ken"}).status_code == 403  # metrics only
    with TestClient(make_app(metrics_token="t0ken")) as client:
        assert client.get("/metrics").status_code == 401  # a token guards metrics even on a keyless server


def test_json_request_logs_carry_request_id_session_route_status_and_duration(make_app, caplog):
    config = {"api_key": "s3cret-key", "log_format": "json", "require_session": False}  # ids of the test's own
    with TestClient(make_app(**config)) as client, caplog.at_level(logging.INFO):
        answer = client.get(
            "/jobs/nosuchjob", headers={"X-API-Key": "s3cret-key", "X-Session-Id": "sess-1", "X-Request-Id": "req-42"}
        )
        fresh = client.get("/settings", headers={"X-API-Key": "s3cret-key"})
        with client.websocket_connect("/ws/stream?session=sess-2&api_key=s3cret-key") as ws:
            ws.receive_text()
    assert answer.status_code == 404 and answer.headers["X-Request-Id"] == "req-42"
    assert len(fresh.headers["X-Request-Id"]) == 32  # none given: a fresh one
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "plasticvision.access"]
    first = next(line for line in lines if line["request_id"] == "req-42")
    assert first["session"] == log_name("sess-1") and first["route"] == "/jobs/{job_id}" and first["status"] == 404
    assert first["method"] == "GET" and first["duration_ms"] >= 0 and first["level"] == "info"
    second = next(line for line in lines if line["request_id"] == fresh.headers["X-Request-Id"])
    assert second["session"] == "default" and second["status"] == 200
    stream = next(line for line in lines if line["route"] == "/ws/stream")
    assert stream["session"] == log_name("sess-2") and stream["method"] == "WEBSOCKET"
    everything = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert "s3cret-key" not in everything and "sess-1" not in everything  # ids are bearer secrets too
