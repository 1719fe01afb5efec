"""The inswapper engine end to end on synthetic models: render, paste-back, enhance, providers, the public API."""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from collections.abc import Iterator

import numpy as np
import pytest

import tests.support.onnx_fakes as fakes
from tests.support.onnx_fakes import smooth_frame
from tests.support.unmarked import unmarked
from plasticvision import FaceSwapper, Settings
from plasticvision.config import get_settings
from plasticvision.engines.inswapper import providers
from plasticvision.engines.inswapper.engine import InswapperEngine
from plasticvision.errors import ModelUnusable, ModelChecksumMismatch, ModelMissing, NoFaceFound, UnsupportedOption
from plasticvision.geometry.align import ARCFACE_TEMPLATE_112
from plasticvision.models import catalog
from plasticvision.models.store import ModelStore

FACE = fakes.face_at((320, 230), 64)  # a 640x480 frame letterboxes at scale 1: input pixels = frame pixels
GREEN = (0, 255, 0)
CPU = "CPUExecutionProvider"


@pytest.fixture
def checksums_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Synthetic weights never match the catalog's SHA-256: run as a user with custom models would."""
    monkeypatch.setenv("PLASTICVISION_MODEL_CHECKSUMS", "off")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def engine_for(root: Path, **build: object) -> InswapperEngine:
    fakes.build_models_dir(root, [FACE], **build)  # type: ignore[arg-type]
    return InswapperEngine(
        root / "buffalo_l/det_10g.onnx",
        root / "buffalo_l/w600k_r50.onnx",
        root / "inswapper_128.onnx",
        root / "gfpgan_1.4.onnx" if (root / "gfpgan_1.4.onnx").exists() else None,
        providers=["CPUExecutionProvider"],
    )


@pytest.fixture(scope="module")
def green_engine(tmp_path_factory: pytest.TempPathFactory) -> InswapperEngine:
    return engine_for(tmp_path_factory.mktemp("green"))


def test_render_lands_the_swapped_crop_on_the_face(green_engine: InswapperEngine) -> None:
    frame = smooth_frame()
    target = green_engine.detect(frame)[0]
    rendered = green_engine.render(frame, target, [green_engine.prepare_source(frame)])

    region = rendered.region
    inside = rendered.mask > 0.99
    assert (rendered.swapped[inside] == GREEN).all()
    crop_scale = 64 / (ARCFACE_TEMPLATE_112[1, 0] - ARCFACE_TEMPLATE_112[0, 0])  # frame px per crop px
    assert abs(region.width - 128 * crop_scale) <= 2 and abs(region.height - 128 * crop_scale) <= 2
    for x, y in rendered.face.landmarks_5:  # every landmark, in region coordinates, under the swapped crop
        assert inside[int(y), int(x)]
    np.testing.assert_allclose(rendered.face.landmarks_5 + (region.x0, region.y0), FACE.points, atol=1e-3)
    # The crop's centre (64, 64) sits (64 - template mean) crop pixels from the landmarks' centroid.
    template_mean = ARCFACE_TEMPLATE_112.mean(axis=0) + (8, 0)
    expected = FACE.points.mean(axis=0) + (64 - template_mean) * crop_scale
    ys, xs = np.nonzero(inside)
    assert abs(xs.mean() + region.x0 - expected[0]) < 1.5 and abs(ys.mean() + region.y0 - expected[1]) < 1.5


def test_identity_swapper_reproduces_the_frame_under_the_mask(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, colour_rgb=None)
    frame = smooth_frame()
    rendered = engine.render(frame, engine.detect(frame)[0], [engine.prepare_source(frame)])
    error = np.abs(rendered.swapped.astype(int) - frame[rendered.region.slices])[rendered.mask > 0.5]
    assert error.mean() < 1.0 and error.max() <= 4


def test_enhance_round_trips_with_an_identity_enhancer(green_engine: InswapperEngine) -> None:
    frame = smooth_frame()
    rendered = green_engine.render(frame, green_engine.detect(frame)[0], [green_engine.prepare_source(frame)])
    enhanced = green_engine.enhance(rendered)
    assert enhanced.region == rendered.region and enhanced.mask is rendered.mask
    assert np.abs(enhanced.swapped.astype(int) - rendered.swapped)[rendered.mask > 0.99].mean() < 1.0


def test_enhance_reuses_a_restoration_while_the_face_is_unchanged(tmp_path: Path) -> None:
    engine = engine_for(tmp_path)
    calls = []
    enhancer = engine.models.enhancer("gfpgan_1.4")
    real = enhancer.enhance_crop
    enhancer.enhance_crop = lambda crop: calls.append(1) or real(crop)  # type: ignore[method-assign]
    frame = smooth_frame()
    source = engine.prepare_source(frame)
    render = lambda image: engine.render(image, engine.detect(image)[0], [source])  # noqa: E731

    for _ in range(3):
        engine.enhance(render(frame))
    assert len(calls) == 1  # two reuses allowed
    engine.enhance(render(frame))
    assert len(calls) == 2  # then a fresh restoration
    engine.enhance(render(255 - frame))
    assert len(calls) == 3  # a different picture is never served a stale restoration


def test_missing_enhancer_means_no_enhance_with_a_clear_message(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, enhancer_gain=None)
    assert not engine.supports_enhance
    swapper = FaceSwapper(engine=engine)
    with pytest.raises(UnsupportedOption, match="enhance"):
        swapper.swap(smooth_frame(), Settings(enhance=True))


def test_a_damaged_enhancer_file_turns_enhance_off_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fakes.build_models_dir(tmp_path, [FACE])
    (tmp_path / "gfpgan_1.4.onnx").write_bytes(b"truncated")
    # The fakes stand in for the required weights (no size or hash to check); GFPGAN keeps its real size.
    unchecked = tuple(replace(spec, size=None, sha256=None) for spec in catalog.REQUIRED)
    monkeypatch.setattr(catalog, "REQUIRED", unchecked)
    with caplog.at_level(logging.WARNING):
        engine = InswapperEngine.from_store(ModelStore(tmp_path))
    assert not engine.supports_enhance
    assert "gfpgan_1.4.onnx is 9 bytes" in caplog.text and "cannot be chosen" in caplog.text

    # checksums off: the broken file is only opened when first used, and refused then with a 422, not a 500
    engine = InswapperEngine.from_store(ModelStore(tmp_path, checksums=False))
    frame = smooth_frame()
    rendered = engine.render(frame, engine.detect(frame)[0], [engine.prepare_source(frame)])
    with pytest.raises(ModelUnusable, match="gfpgan_1.4: .* is not a loadable ONNX model"):
        engine.enhance(rendered)


def test_source_without_a_face_is_refused(tmp_path: Path) -> None:
    fakes.build_models_dir(tmp_path, [])
    engine = InswapperEngine(
        tmp_path / "buffalo_l/det_10g.onnx", tmp_path / "buffalo_l/w600k_r50.onnx", tmp_path / "inswapper_128.onnx"
    )
    with pytest.raises(NoFaceFound):
        engine.prepare_source(smooth_frame())


def test_face_swapper_end_to_end_from_a_models_dir(tmp_path: Path, checksums_off: None) -> None:
    fakes.build_models_dir(tmp_path, [FACE])
    swapper = FaceSwapper("inswapper", models_dir=tmp_path)
    unmarked(swapper.default_session)  # where the swap lands, without the provenance mark around the face
    stripes = (np.indices((480, 640)).sum(axis=0) // 8 % 2 * 50).astype(np.uint8)[:, :, None]
    frame = smooth_frame() + stripes  # texture, so the colour-matched flat swap differs everywhere on the face
    swapper.set_sources([frame, np.ascontiguousarray(frame[::-1])])

    report = swapper.swap_report(frame, Settings(mouth_mask=False, enhance=True))
    assert (report.faces_found, report.faces_swapped) == (1, 1)
    assert {"detect", "swap", "enhance", "colour", "feather", "blend"} <= set(report.timings_ms)
    changed = np.abs(report.frame.astype(int) - frame).sum(axis=2) > 10
    ys, xs = np.nonzero(changed)
    x0, y0, x1, y1 = FACE.box
    margin_x, margin_y = (x1 - x0) / 4, (y1 - y0) / 4  # the aligned crop reaches a little past the box
    assert x0 - margin_x < xs.min() and xs.max() < x1 + margin_x
    assert y0 - margin_y < ys.min() and ys.max() < y1 + margin_y
    assert changed[int(FACE.points[2, 1]), int(FACE.points[2, 0])]  # the nose is swapped
    assert (report.frame[:60] == frame[:60]).all()  # far from the face nothing moves
    assert (swapper.swap(frame, Settings(opacity=0.0)) == frame).all()
    info = swapper.info()
    assert info["engine"] == "inswapper" and info["gpu"] is False and info["providers"] == ["CPUExecutionProvider"]


def test_models_dir_without_weights_says_how_to_fetch_them(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="plasticvision models download"):
        InswapperEngine.from_models_dir(tmp_path)


def test_wrong_weights_are_refused_unless_checksums_are_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fakes.build_models_dir(tmp_path, [FACE])
    monkeypatch.delenv("PLASTICVISION_MODEL_CHECKSUMS", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(ModelChecksumMismatch, match="PLASTICVISION_MODEL_CHECKSUMS=off"):
            InswapperEngine.from_models_dir(tmp_path)
    finally:
        get_settings.cache_clear()


def test_providers_follow_the_preference_order() -> None:
    offered = ["CPUExecutionProvider", "CUDAExecutionProvider", "AzureExecutionProvider", "TensorrtExecutionProvider"]
    assert providers.choose_providers(offered) == [
        "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"
    ]
    assert providers.choose_providers(["DmlExecutionProvider"]) == ["DmlExecutionProvider", "CPUExecutionProvider"]


def test_the_runtime_never_imports_the_onnx_package() -> None:
    """`onnx` is a test dependency only: users install onnxruntime and nothing else."""
    code = (
        "import sys, plasticvision.engines.inswapper.engine, plasticvision.engines.select, plasticvision.cli.models; "
        "sys.exit('onnx' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_tensorrt_caches_its_engines_and_others_run_as_named() -> None:
    name, options = providers.with_options("TensorrtExecutionProvider")
    assert name == "TensorrtExecutionProvider" and options["trt_engine_cache_enable"] == "True"
    assert options["trt_engine_cache_path"].endswith("tensorrt")
    assert providers.with_options("CUDAExecutionProvider") == "CUDAExecutionProvider"


def test_an_idle_gpu_is_reported_loudly(
    green_engine: InswapperEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(providers, "gpu_evidence", lambda: "nvidia-smi is installed")
    with caplog.at_level(logging.WARNING):
        report = providers.check_session(green_engine.detector.session, ["CUDAExecutionProvider", CPU])
    assert not report.gpu and report.providers == ("CPUExecutionProvider",)
    assert "GPU seems present (nvidia-smi is installed)" in report.warning
    assert "pip install -e .[gpu]" in report.warning  # this onnxruntime has no GPU provider at all
    assert report.warning in caplog.text

    offered = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(providers.ort, "get_available_providers", lambda: offered)
    report = providers.check_session(green_engine.detector.session, offered)
    assert "could not start CUDAExecutionProvider" in report.warning and "cuDNN" in report.warning

    monkeypatch.setattr(providers, "gpu_evidence", lambda: None)
    assert providers.check_session(green_engine.detector.session, ["CPUExecutionProvider"]).warning is None
