"""The device pool with `--devices cpu:2`: streams spread over replicas and stay there, one-off work
goes to the least busy one, a replica that raises leaves the other serving, `/status` shows both."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

import tests.support.onnx_fakes as fakes
from plasticvision import FaceSwapper
from plasticvision.config import ServerConfig, get_settings
from plasticvision.engines.devices import BadDeviceSpec, Device, parse_devices
from plasticvision.engines.inswapper.providers import with_options
from plasticvision.engines.pool import EnginePool, Replica
from plasticvision.server import create_app

from tests.support.faces import distance, identity, on_canvas


class FailingDevice:
    """A real engine on a device that has gone bad: every render raises, as a lost CUDA context does."""

    def __init__(self, engine) -> None:
        self._engine = engine

    def __getattr__(self, name: str):
        return getattr(self._engine, name)

    def render(self, *args, **kwargs):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")


@pytest.fixture(scope="module")
def webcam_jpeg(read_test_image) -> bytes:
    return cv2.imencode(".jpg", on_canvas(read_test_image("astronaut.png"), 300, (170, 90)))[1].tobytes()


@pytest.fixture(scope="module")
def hanks_png(data_dir) -> bytes:
    return (data_dir / "Tom_Hanks_54745.png").read_bytes()


def upload(client: TestClient, session: str, png: bytes) -> None:
    files = [("files", ("hanks.png", png, "image/png"))]
    assert client.post("/upload-source-faces", files=files, headers={"X-Session-Id": session}).status_code == 200


def devices_by_label(client: TestClient) -> dict[str, dict]:
    return {device["device"]: device for device in client.get("/status").json()["devices"]}


@pytest.mark.parametrize(
    ("spec", "labels"),
    [("0,1", ["cuda:0", "cuda:1"]), ("cpu:2", ["cpu:0", "cpu:1"]), ("cuda:1, cpu", ["cuda:1", "cpu:0"]), ("cpu", ["cpu:0"])],
)
def test_device_specs_are_read(spec, labels):
    assert [device.label for device in parse_devices(spec)] == labels


@pytest.mark.parametrize("spec", ["gpu0", "cpu:0", "1,1", "cpu:-2", "tpu:1"])
def test_bad_device_specs_say_what_was_wrong(spec):
    with pytest.raises(BadDeviceSpec, match="devices"):
        parse_devices(spec)


def test_serve_refuses_a_bad_device_list_in_one_line():
    done = subprocess.run(
        [sys.executable, "-m", "plasticvision", "serve", "--devices", "gpu0"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "argument --devices: devices: cannot read 'gpu0'" in done.stderr.splitlines()[-1]


def test_a_cuda_device_asks_onnxruntime_for_its_device_id():
    providers = Device("cuda", 1).providers(["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert providers == [("CUDAExecutionProvider", {"device_id": "1"}), "CPUExecutionProvider"]


def test_two_streams_land_on_different_replicas_and_status_shows_both(tmp_path, webcam_jpeg, hanks_png):
    app = create_app(ServerConfig(engine="dlib", devices="cpu:2", data_dir=tmp_path))
    pool: EnginePool = app.state.swapper.pool
    assert [r.device.label for r in pool.replicas] == ["cpu:0", "cpu:1"]
    assert pool.replicas[0].engine is not pool.replicas[1].engine  # one engine per device, nothing shared
    with TestClient(app) as client:
        upload(client, "a", hanks_png)
        upload(client, "b", hanks_png)
        with client.websocket_connect("/ws/stream?session=a") as first, client.websocket_connect(
            "/ws/stream?session=b"
        ) as second:
            for ws in (first, second):
                assert json.loads(ws.receive_text()) == {"status": "connected"}
            for _ in range(3):  # a stream stays on its replica frame after frame
                for ws in (first, second):
                    ws.send_bytes(webcam_jpeg)
                    assert ws.receive_bytes()[:2] == b"\xff\xd8"
            devices = devices_by_label(client)
            assert [devices[label]["streams"] for label in ("cpu:0", "cpu:1")] == [1, 1]
            assert [devices[label]["frames"] for label in ("cpu:0", "cpu:1")] == [3, 3]
            assert all(d["engine"] == "dlib" and d["provider"] == "dlib-cpu" and d["fps"] > 0 for d in devices.values())
        assert [d["streams"] for d in devices_by_label(client).values()] == [0, 0]


def test_simultaneous_one_off_work_goes_to_the_least_busy_replica(swapper):
    pool = EnginePool([Replica(Device("cpu", 0), swapper.engine), Replica(Device("cpu", 1), swapper.engine)])
    both_inside = threading.Barrier(2, timeout=10)
    def work(engine) -> None:
        both_inside.wait()  # each holds its replica until the other is inside too

    threads = [threading.Thread(target=pool.run, args=(work,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.frames for r in pool.replicas] == [1, 1]


def test_a_replica_that_raises_does_not_take_the_other_down(tmp_path, swapper, webcam_jpeg, hanks_png, read_test_image):
    broken = Replica(Device("cpu", 0), FailingDevice(swapper.engine))
    healthy = Replica(Device("cpu", 1), swapper.engine)
    app = create_app(ServerConfig(engine="dlib", data_dir=tmp_path), FaceSwapper(EnginePool([broken, healthy])))
    hanks = identity(swapper, read_test_image("Tom_Hanks_54745.png"))
    astronaut = identity(swapper, cv2.imdecode(np.frombuffer(webcam_jpeg, np.uint8), cv2.IMREAD_COLOR))
    with TestClient(app) as client:
        upload(client, "a", hanks_png)
        upload(client, "b", hanks_png)
        with client.websocket_connect("/ws/stream?session=a") as on_broken, client.websocket_connect(
            "/ws/stream?session=b"
        ) as on_healthy:
            for ws in (on_broken, on_healthy):
                ws.receive_text()
            on_broken.send_bytes(webcam_jpeg)
            failure = json.loads(on_broken.receive_text())
            assert failure["code"] == 503 and "cpu:0 failed" in failure["detail"] and failure["about"] == "frame"
            on_healthy.send_bytes(webcam_jpeg)
            out = cv2.imdecode(np.frombuffer(on_healthy.receive_bytes(), np.uint8), cv2.IMREAD_COLOR)
            swapped_identity = identity(swapper, out)  # really swapped, on the healthy device
            assert distance(swapped_identity, hanks) < distance(swapped_identity, astronaut)
            on_broken.send_bytes(webcam_jpeg)  # the broken stream is still open and still told why
            assert json.loads(on_broken.receive_text())["code"] == 503
            devices = devices_by_label(client)
            assert (devices["cpu:0"]["errors"], devices["cpu:1"]["errors"]) == (2, 0)
            assert "illegal memory access" in devices["cpu:0"]["last_error"]
            assert [devices[label]["streams"] for label in ("cpu:0", "cpu:1")] == [1, 1]

        # one-off work that lands on the broken device is retried on the healthy one
        files = [("source_files", ("h.png", hanks_png, "image/png")), ("target_file", ("t.jpg", webcam_jpeg, "image/jpeg"))]
        broken.recent.clear()  # make the broken replica the least busy one, so the swap is tried there first
        swapped = client.post("/swap-image", files=files)
        assert swapped.status_code == 200 and swapped.headers["X-Faces-Swapped"] == "1"
        assert devices_by_label(client)["cpu:0"]["errors"] == 3


def test_tensorrt_keeps_the_device_id_next_to_its_engine_cache():
    name, options = with_options(("TensorrtExecutionProvider", {"device_id": "1"}))
    assert name == "TensorrtExecutionProvider" and options["device_id"] == "1" and options["trt_engine_cache_enable"] == "True"


def test_inswapper_replicas_load_their_own_models_and_render_each_others_sources(tmp_path, monkeypatch):
    """Two CPU replicas of the neural engine (synthetic models): separate onnxruntime sessions, shared sources."""
    monkeypatch.setenv("PLASTICVISION_MODEL_CHECKSUMS", "off")  # synthetic weights never match the catalog
    get_settings.cache_clear()
    try:
        face = fakes.face_at((320, 230), 64)
        fakes.build_models_dir(tmp_path, [face])
        swapper = FaceSwapper("inswapper", models_dir=tmp_path, devices="cpu:2")
    finally:
        get_settings.cache_clear()
    first, second = (replica.engine for replica in swapper.pool.replicas)
    assert first.detector.session is not second.detector.session
    assert first.providers == second.providers == ["CPUExecutionProvider"]
    frame = fakes.smooth_frame()
    session = swapper.new_session()
    session.set_sources([frame])  # prepared on the first replica
    on_first, on_second = (session.swap(frame, engine=engine) for engine in (first, second))
    assert on_first.faces_swapped == on_second.faces_swapped == 1
    assert (on_first.frame == on_second.frame).all()
    assert [d["provider"] for d in swapper.pool.status()] == ["CPUExecutionProvider"] * 2
