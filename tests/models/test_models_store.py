"""The model store against a local HTTP server (127.0.0.1 only): resume, corruption, mirror, checksums, offline."""

from __future__ import annotations

import hashlib
import zlib
import http.server
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterator

import pytest

from plasticvision.config import get_settings, model_store
from plasticvision.engines import select
from plasticvision.errors import ModelChecksumMismatch, ModelMissing
from plasticvision.models import download
from plasticvision.models.catalog import ModelSpec
from plasticvision.models.store import ModelStore

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


@dataclass
class Behaviour:
    """How the test server misbehaves; `log` records (path, Range header) per request."""

    files: dict[str, bytes] = field(default_factory=dict)
    honour_range: bool = True
    cut_after: int | None = None  # close the connection after this many body bytes
    log: list[tuple[str, str | None]] = field(default_factory=list)


def make_handler(behaviour: Behaviour) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            behaviour.log.append((self.path, self.headers.get("Range")))
            body = behaviour.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            start = 0
            range_header = self.headers.get("Range")
            if range_header and behaviour.honour_range:
                start = int(range_header.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            rest = body[start:]
            self.send_header("Content-Length", str(len(rest)))
            self.end_headers()
            self.wfile.write(rest if behaviour.cut_after is None else rest[: behaviour.cut_after])

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Behaviour]]:
    behaviour = Behaviour(files={"/tiny.onnx": PAYLOAD, "/mirror/models/tiny.onnx": PAYLOAD})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(behaviour))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", behaviour
    httpd.shutdown()
    httpd.server_close()


def tiny_spec(base: str, *, sha256: str | None = None) -> ModelSpec:
    return ModelSpec(
        name="tiny",
        file="models/tiny.onnx",
        url=f"{base}/tiny.onnx",
        size=len(PAYLOAD),
        sha256=sha256 or hashlib.sha256(PAYLOAD).hexdigest(),
        licence="test",
        role="swapper",
        title="a tiny test model",
    )


def store_at(root: Path, **options: object) -> ModelStore:
    return ModelStore(root, timeout_s=2.0, **options)  # type: ignore[arg-type]


def test_download_verifies_and_moves_into_place(tmp_path: Path, server: tuple[str, Behaviour]) -> None:
    base, behaviour = server
    spec, store = tiny_spec(base), store_at(tmp_path)
    assert store.problem(spec) == "missing"

    path = store.download(spec, progress=False)
    assert path == tmp_path / "models/tiny.onnx" and path.read_bytes() == PAYLOAD
    assert not path.with_name("tiny.onnx.part").exists()
    assert store.problem(spec) is None and store.verify(spec) == path
    assert behaviour.log == [("/tiny.onnx", None)]


def test_an_interrupted_download_resumes_where_it_stopped(tmp_path: Path, server: tuple[str, Behaviour]) -> None:
    base, behaviour = server
    spec, store = tiny_spec(base), store_at(tmp_path)
    behaviour.cut_after = 300_000
    with pytest.raises(ModelMissing, match="downloads resume"):
        store.download(spec, progress=False)
    part = tmp_path / "models/tiny.onnx.part"
    assert part.stat().st_size == 300_000 and store.problem(spec) == "missing (partly downloaded)"

    behaviour.cut_after = None
    assert store.download(spec, progress=False).read_bytes() == PAYLOAD
    assert behaviour.log[-1] == ("/tiny.onnx", "bytes=300000-")


def test_a_complete_part_is_verified_and_moved_without_a_request(
    tmp_path: Path, server: tuple[str, Behaviour]
) -> None:
    base, behaviour = server
    spec, store = tiny_spec(base), store_at(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models/tiny.onnx.part").write_bytes(PAYLOAD)
    assert store.download(spec, progress=False).read_bytes() == PAYLOAD
    assert behaviour.log == []


def test_a_server_ignoring_ranges_restarts_the_file(tmp_path: Path, server: tuple[str, Behaviour]) -> None:
    base, behaviour = server
    spec, store = tiny_spec(base), store_at(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models/tiny.onnx.part").write_bytes(PAYLOAD[:1000])
    behaviour.honour_range = False
    assert store.download(spec, progress=False).read_bytes() == PAYLOAD


def test_a_stale_part_with_wrong_bytes_is_refetched_from_scratch(tmp_path: Path, server: tuple[str, Behaviour]) -> None:
    base, behaviour = server
    spec, store = tiny_spec(base), store_at(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models/tiny.onnx.part").write_bytes(b"\xff" * 1000)
    assert store.download(spec, progress=False).read_bytes() == PAYLOAD
    assert [r for _, r in behaviour.log] == ["bytes=1000-", None]  # resumed, failed the hash, fetched whole


def test_truncated_and_corrupt_files_are_detected_and_replaced(tmp_path: Path, server: tuple[str, Behaviour]) -> None:
    base, _ = server
    spec, store = tiny_spec(base), store_at(tmp_path)
    path = store.path(spec)
    path.parent.mkdir(parents=True)

    path.write_bytes(PAYLOAD[:-10])
    assert "truncated" in store.problem(spec)
    with pytest.raises(ModelChecksumMismatch, match="models download tiny"):
        store.verify(spec)
    assert store.ensure(spec, progress=False).read_bytes() == PAYLOAD

    path.write_bytes(PAYLOAD[::-1])  # right size, wrong bytes
    assert "SHA-256" in store.problem(spec)
    assert store.ensure(spec, progress=False).read_bytes() == PAYLOAD


def test_a_source_serving_wrong_bytes_is_refused(tmp_path: Path, server: tuple[str, Behaviour]) -> None:
    base, behaviour = server
    spec, store = tiny_spec(base, sha256="0" * 64), store_at(tmp_path)
    with pytest.raises(ModelChecksumMismatch, match="source may be corrupt"):
        store.download(spec, progress=False)
    assert not store.path(spec).exists() and len(behaviour.log) == 2


def test_the_mirror_replaces_the_catalog_url(tmp_path: Path, server: tuple[str, Behaviour]) -> None:
    base, behaviour = server
    spec = tiny_spec("http://127.0.0.1:9")  # the catalog's URL is dead
    store = store_at(tmp_path, mirror=f"{base}/mirror/")
    assert store.url(spec) == f"{base}/mirror/models/tiny.onnx"
    assert store.download(spec, progress=False).read_bytes() == PAYLOAD
    assert behaviour.log == [("/mirror/models/tiny.onnx", None)]


def test_environment_configures_mirror_and_checksums(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLASTICVISION_MODEL_MIRROR", "https://mirror.example/models")
    monkeypatch.setenv("PLASTICVISION_MODEL_CHECKSUMS", "off")
    monkeypatch.setenv("PLASTICVISION_MODELS_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        store = model_store()
    finally:
        get_settings.cache_clear()
    assert (store.root, store.mirror, store.checksums) == (tmp_path, "https://mirror.example/models", False)
    spec = tiny_spec("http://127.0.0.1:9")
    store.path(spec).parent.mkdir(parents=True)
    store.path(spec).write_bytes(b"a fine-tuned model")
    assert store.verify(spec) == store.path(spec)  # checksums off: a custom file is accepted


def test_manual_placement_needs_no_network_and_the_hash_is_remembered(tmp_path: Path) -> None:
    spec, store = tiny_spec("http://127.0.0.1:9"), store_at(tmp_path)
    path = store.path(spec)
    path.parent.mkdir(parents=True)
    path.write_bytes(PAYLOAD)
    assert store.verify(spec) == path
    stamp = path.with_name("tiny.onnx.sha256")
    assert stamp.read_text().startswith(spec.sha256)

    path.write_bytes(PAYLOAD[::-1])  # same size; a new mtime invalidates the stamp
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert "SHA-256" in store.problem(spec)


def test_an_unanswering_server_fails_within_the_timeout(tmp_path: Path) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections queue, nobody ever answers
    try:
        spec = tiny_spec(f"http://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        with pytest.raises(ModelMissing, match="could not download tiny"):
            ModelStore(tmp_path, timeout_s=0.5).download(spec, progress=False)
        assert time.monotonic() - started < 3
    finally:
        silent.close()


def test_a_stuck_name_lookup_is_abandoned_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    def stalled_lookup(*args, **kwargs):
        time.sleep(30)  # a resolver that never answers in time; no packet leaves the machine
        raise OSError("lookup gave up")

    monkeypatch.setattr(download.socket, "create_connection", stalled_lookup)
    started = time.monotonic()
    with pytest.raises(download.URLError, match="no answer"):
        download.check_reachable("https://huggingface.co/x", deadline_s=0.3)
    assert time.monotonic() - started < 2


@pytest.fixture
def fast_dlib(monkeypatch: pytest.MonkeyPatch, swapper) -> None:
    """The real dlib engine, loaded once for the run instead of once per decision."""
    monkeypatch.setattr(select, "load_dlib", lambda models_dir=None: swapper.engine)


def test_auto_without_gpu_keeps_dlib_and_says_how_to_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_dlib: None
) -> None:
    from plasticvision.engines.inswapper import providers

    monkeypatch.setattr(providers, "gpu_provider_available", lambda: False)
    engine, reason = select.choose_engine("auto", model_store(tmp_path))
    assert engine.name == "dlib"
    assert "no GPU provider" in reason and "plasticvision models download" in reason
    assert not any(tmp_path.iterdir())  # nothing fetched behind the user's back


def test_auto_with_gpu_but_no_network_falls_back_within_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_dlib: None
) -> None:
    from plasticvision.engines.inswapper import providers

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # connections are refused, as on a machine without network
    monkeypatch.setattr(providers, "gpu_provider_available", lambda: True)
    monkeypatch.setenv("PLASTICVISION_MODEL_MIRROR", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    try:
        started = time.monotonic()
        engine, reason = select.choose_engine("auto", model_store(tmp_path))
        elapsed = time.monotonic() - started
    finally:
        get_settings.cache_clear()
    assert engine.name == "dlib" and elapsed < 5
    assert "could not download det_10g" in reason and "dlib" in reason


def test_auto_picks_inswapper_when_its_weights_are_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_dlib: None
) -> None:
    from tests.support import onnx_fakes
    onnx_fakes.build_models_dir(tmp_path, [onnx_fakes.face_at((320, 240), 60)])
    monkeypatch.setenv("PLASTICVISION_MODEL_CHECKSUMS", "off")
    get_settings.cache_clear()
    try:
        engine, reason = select.choose_engine("auto", model_store(tmp_path))
    finally:
        get_settings.cache_clear()
    assert engine.name == "inswapper"
    assert reason == "inswapper weights present; running on CPUExecutionProvider; default swapper inswapper_128"


def test_models_cli_lists_downloads_and_verifies(
    tmp_path: Path, server: tuple[str, Behaviour], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from plasticvision.cli import main
    from plasticvision.models.catalog import CATALOG

    base, behaviour = server
    for spec in CATALOG:
        behaviour.files[f"/mirror/{spec.file}"] = spec.name.encode()
        if spec.hash_file:
            behaviour.files[f"/mirror/{spec.hash_file}"] = format(zlib.crc32(spec.name.encode()), "08x").encode()
    monkeypatch.setenv("PLASTICVISION_MODEL_MIRROR", f"{base}/mirror")
    get_settings.cache_clear()
    try:
        assert main(["models", "--models-dir", str(tmp_path), "list"]) == 0
        listing = capsys.readouterr().out
        assert "non-commercial research use only" in listing and "occluders:" in listing
        assert "CRC32 sidecar" in listing and "SHA-256 + size" in listing
        assert main(["models", "--models-dir", str(tmp_path), "verify"]) == 2
        assert "det_10g            missing" in capsys.readouterr().out

        monkeypatch.setenv("PLASTICVISION_MODEL_CHECKSUMS", "off")  # the test files are not the real weights
        get_settings.cache_clear()
        assert main(["models", "--models-dir", str(tmp_path), "download", "det_10g"]) == 0
        assert (tmp_path / "buffalo_l/det_10g.onnx").read_bytes() == b"det_10g"
        assert not (tmp_path / "inswapper_128.onnx").exists()
        assert main(["models", "--models-dir", str(tmp_path), "download"]) == 0  # the recommended set
        assert (tmp_path / "hyperswap_1a_256.onnx").is_file() and (tmp_path / "xseg_1.hash").is_file()
        assert not (tmp_path / "simswap_256.onnx").exists()
        assert main(["models", "--models-dir", str(tmp_path), "download", "simswap_256"]) == 0
        assert (tmp_path / "crossface_simswap.onnx").is_file()  # its embedding converter comes with it
        assert main(["models", "--models-dir", str(tmp_path), "download", "--recommended"]) == 0  # all there: no-op
        assert main(["models", "--models-dir", str(tmp_path), "download", "--all"]) == 0
        assert (tmp_path / "bisenet_resnet_18.onnx").is_file()
        assert main(["models", "--models-dir", str(tmp_path), "download", "xseg_2", "--all"]) == 2
        assert main(["models", "--models-dir", str(tmp_path), "verify"]) == 0
        assert main(["models", "--models-dir", str(tmp_path), "download", "nope"]) == 2
        assert "unknown model 'nope'" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_facefusion_models_are_checked_against_their_crc32_sidecar(tmp_path: Path) -> None:
    from plasticvision.models.catalog import spec_named

    spec = spec_named("xseg_1")
    store = store_at(tmp_path)
    (tmp_path / "xseg_1.onnx").write_bytes(PAYLOAD)
    assert "no xseg_1.hash beside it" in (store.problem(spec) or "")
    (tmp_path / "xseg_1.hash").write_text(format(zlib.crc32(PAYLOAD), "08x"))
    assert store.problem(spec) is None
    assert (tmp_path / "xseg_1.onnx.crc32").is_file()  # remembered: the next check reads no weights
    (tmp_path / "xseg_1.hash").write_text("00000000")
    assert "has CRC32" in (store.problem(spec) or "") and "expected 00000000 from xseg_1.hash" in store.problem(spec)
    assert store_at(tmp_path, checksums=False).problem(spec) is None  # hand-placed files, checksums off
