"""Every failure has a stable `type`, mapped to its HTTP status and WebSocket close code in one place
(`server.errors`): each type is documented and raised somewhere, and a real server answers each
reachable one as `{"detail", "type"}` or, on the stream, as a close reason that starts with it."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

import plasticvision
from plasticvision.client.errors import ClientError
from plasticvision.errors import PlasticVisionError
from plasticvision.server.errors import (
    ERROR_TYPES,
    HTTP_TYPES,
    WS_POLICY_VIOLATION,
    WS_TRY_AGAIN_LATER,
    on_plasticvision_error,
    on_server_error,
)
from tests.support.live_uvicorn import free_port
from tests.support.optional_parts import need_module
from tests.support.own_loop import in_own_loop

SRC = Path(plasticvision.__file__).parent
MADE_BY_THE_SERVER = {*HTTP_TYPES.values(), "invalid_request", "too_slow", "too_large", "server_error", "host_not_allowed"}


def failure_classes() -> list[type[PlasticVisionError]]:
    """Every server-side failure class in the package (the client's own describe the server's)."""
    for module in pkgutil.walk_packages([str(SRC)], "plasticvision."):
        if module.name.endswith("__main__"):  # runs the CLI
            continue
        try:
            importlib.import_module(module.name)
        except ImportError:  # an optional part (pyvirtualcam, aiortc, ...) this install lacks
            continue
    found, todo = [], [PlasticVisionError]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if not issubclass(cls, ClientError):
            found.append(cls)
    return found


def test_every_failure_class_has_a_documented_type():
    classes = failure_classes()
    assert len(classes) >= 40
    undocumented = {cls.__qualname__: cls.type for cls in classes if cls.type not in ERROR_TYPES}
    assert not undocumented, undocumented
    assert not [cls for cls in classes if "status_code" in vars(cls)], "HTTP codes belong in server.errors"


def test_every_documented_type_is_raised_somewhere():
    """A type nobody raises is dead weight in the documented vocabulary."""
    types_of: dict[str, str] = {}
    raised: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and (type_ := declared_type(node)):
                types_of[node.name] = type_
            elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                raised.add(getattr(node.exc.func, "id", getattr(node.exc.func, "attr", "")))
    by_classes = {type_ for name, type_ in types_of.items() if name in raised}
    never = set(ERROR_TYPES) - by_classes - MADE_BY_THE_SERVER
    assert not never, never


def declared_type(node: ast.ClassDef) -> str | None:
    """The `type = "..."` a class body declares."""
    for statement in node.body:
        targets = statement.targets if isinstance(statement, ast.Assign) else [getattr(statement, "target", None)]
        value = getattr(statement, "value", None)
        if any(getattr(target, "id", None) == "type" for target in targets) and isinstance(value, ast.Constant):
            return value.value
    return None


@pytest.mark.parametrize("type_", sorted(ERROR_TYPES))
def test_each_type_answers_its_status_and_close_code(type_):
    failure = type(f"Failure_{type_}", (PlasticVisionError,), {"type": type_})("what went wrong")
    response = in_own_loop(on_plasticvision_error(None, failure))
    status = ERROR_TYPES[type_].status
    assert response.status_code == status
    assert json.loads(response.body) == {"detail": "what went wrong", "type": type_}
    retry_later = status in (429, 503)
    assert ERROR_TYPES[type_].close_code == (WS_TRY_AGAIN_LATER if retry_later else WS_POLICY_VIOLATION)


def test_a_bug_is_a_typed_500_without_a_traceback():
    response = in_own_loop(on_server_error(None, RuntimeError("secret internals")))
    assert response.status_code == 500
    assert json.loads(response.body)["type"] == "server_error" and b"secret" not in response.body


def test_the_document_lists_for_each_status_the_types_it_carries(make_app):
    document = make_app().openapi()
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    declared = set(schema["properties"]["type"]["enum"])
                    assert declared == {t for t, kind in ERROR_TYPES.items() if kind.status == int(status)}


# --- a real server, each reachable type ---------------------------------------------------------


@pytest.fixture(scope="module")
def client(make_app) -> Iterator[TestClient]:
    limits = {"max_upload_mb": 0.05, "max_files": 2, "max_image_pixels": 200_000, "max_ws_message_mb": 0.05}
    with TestClient(make_app(**limits)) as client:
        yield client


@pytest.fixture(scope="module")
def face(data_dir) -> bytes:
    return (data_dir / "Tom_Hanks_54745.png").read_bytes()


def refused(response, type_: str) -> str:
    assert response.status_code == ERROR_TYPES[type_].status, response.text
    body = response.json()
    assert body["type"] == type_ and isinstance(body["detail"], str) and body["detail"], body
    return body["detail"]


def image(name: str, data: bytes) -> tuple[str, bytes, str]:
    return name, data, "image/png"


def test_http_refusals_name_their_type(client, face, data_dir):
    blank = cv2.imencode(".png", np.full((64, 64, 3), 128, np.uint8))[1].tobytes()
    big = (data_dir / "astronaut.png").read_bytes()
    session = {"X-Session-Id": "typed"}
    refused(client.get("/no-such-route"), "not_found")
    refused(client.put("/settings"), "method_not_allowed")
    refused(client.post("/settings", json={"opacity": 7}), "invalid_request")
    refused(client.post("/settings", json={"enhance": True}), "unsupported_option")
    refused(client.get("/status", headers={"X-Session-Id": "../etc"}), "bad_session")
    refused(client.post("/upload-source-faces", files={"files": image("blank.png", blank)}), "no_face")
    refused(client.post("/upload-source-faces", files={"files": image("x.png", b"not an image")}), "bad_image")
    refused(client.post("/detect-faces", files={"file": image("big.png", big)}), "file_too_large")
    three = [("files", image(f"{i}.png", face)) for i in range(3)]
    refused(client.post("/upload-source-faces", files=three), "too_many_files")
    huge = client.post("/upload-source-faces", content=b"\0" * 2_000_000, headers={"Content-Type": "image/png"})
    refused(huge, "too_large")
    refused(client.post("/swap-image", files={"target_file": image("t.png", face)}), "missing_sources")
    refused(client.get("/jobs/nope", headers=session), "unknown_job")
    refused(client.delete("/identities/nobody", headers=session), "unknown_identity")
    refused(client.delete("/face-map/nobody", headers=session), "unknown_person")
    photo = {"files": image("f.png", face)}
    refused(client.post("/identities", data={"name": "!!"}, files=photo, headers=session), "bad_name")
    assert client.post("/identities", data={"name": "me"}, files=photo, headers=session).status_code == 201
    refused(client.post("/face-map", data={"identity": "me", "face_id": "f-none"}, headers=session), "unknown_face")
    refused(client.post("/face-map", data={"identity": "me"}, headers=session), "invalid_request")
    video = [("source_files", image("f.png", face)), ("target_file", ("v.mp4", b"not a video", "video/mp4"))]
    refused(client.post("/jobs/video", files=video, data={"job_id": "bad id!"}), "bad_job_id")
    refused(client.post("/jobs/video", files=video, data={"job_id": "typed-job"}), "bad_video")
    refused(client.post("/jobs/video", files=video, data={"job_id": "typed-job"}), "job_exists")
    refused(client.get("/jobs/typed-job/result"), "job_not_ready")


def test_image_pixel_limits_are_typed(make_app, data_dir):
    with TestClient(make_app(max_image_pixels=10_000)) as client:
        files = {"file": image("a.png", (data_dir / "astronaut.png").read_bytes())}
        refused(client.post("/detect-faces", files=files), "image_too_large")


def test_session_api_key_and_rate_refusals_are_typed(make_app, face):
    with TestClient(make_app(require_session=True)) as client:
        refused(client.post("/settings", json={"opacity": 0.5}, headers={"X-Session-Id": "default"}), "session_required")
        refused(client.post("/settings", json={"opacity": 0.5}, headers={"X-Session-Id": "made-up"}), "session_not_issued")
    with TestClient(make_app(api_key="s3cret")) as client:
        refused(client.get("/status"), "api_key_missing")
        refused(client.get("/status", headers={"X-API-Key": "wrong"}), "api_key_invalid")
    with TestClient(make_app(max_sessions=2)) as client:
        assert client.post("/settings", json={"opacity": 0.5}, headers={"X-Session-Id": "first"}).status_code == 200
        refused(client.post("/settings", json={"opacity": 0.5}, headers={"X-Session-Id": "second"}), "too_many_sessions")
    with TestClient(make_app(rate_limit="1/minute")) as client:
        upload = {"files": image("f.png", face)}
        assert client.post("/upload-source-faces", files=upload).status_code == 200
        response = client.post("/upload-source-faces", files=upload)
        refused(response, "rate_limited")
        assert int(response.headers["Retry-After"]) > 0


def test_an_unreachable_session_store_is_typed(make_app):
    need_module("redis", "redis")
    with TestClient(make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0")) as client:
        change = client.post("/settings", json={"opacity": 0.5}, headers={"X-Session-Id": "stored"})
        refused(change, "store_unavailable")


# --- the stream: in-band errors and close reasons ------------------------------------------------


def closed_with(client: TestClient, url: str, type_: str, headers: dict[str, str] | None = None) -> None:
    with client.websocket_connect(url, headers=headers or {}) as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    assert closed.value.code == ERROR_TYPES[type_].close_code
    assert closed.value.reason.startswith(f"{type_}: "), closed.value.reason


def test_stream_refusals_close_with_the_type_first(make_app):
    keyed = {"api_key": "k", "require_session": False}  # client-chosen ids, to reach each refusal on its own
    with TestClient(make_app(**keyed, cors_origins=["https://app.example"], max_ws_per_session=1)) as client:
        closed_with(client, "/ws/stream", "api_key_missing")
        closed_with(client, "/ws/stream?api_key=no", "api_key_invalid")
        closed_with(client, "/ws/stream?api_key=k", "origin_rejected", {"origin": "https://evil.example"})
        closed_with(client, "/ws/stream?api_key=k&session=../x", "bad_session")
        closed_with(client, "/ws/stream?api_key=k&protocol=9", "protocol_error")
        with client.websocket_connect("/ws/stream?api_key=k&session=one") as first:
            first.receive_text()
            closed_with(client, "/ws/stream?api_key=k&session=one", "too_many_connections")


def test_bad_stream_messages_name_their_type_and_the_stream_goes_on(client):
    with client.websocket_connect("/ws/stream?session=in-band") as ws:
        ws.receive_text()
        for message, type_ in (
            ("hello", "bad_message"),
            ('{"settings": {"opacity": 2}}', "invalid_request"),
            (b"GIF89a not a jpeg", "bad_image"),
            (b"\xff\xd8" + b"\0" * 60_000, "frame_too_large"),
        ):
            ws.send_text(message) if isinstance(message, str) else ws.send_bytes(message)
            error = json.loads(ws.receive_text())
            assert error["type"] == type_ and error["code"] == ERROR_TYPES[type_].status, error
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(30):
                ws.send_text("junk")
                ws.receive_text()
    assert closed.value.reason.startswith("too_many_bad_messages: ")
