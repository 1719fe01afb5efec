"""Every catalog swapper, enhancer and mask through the real pipeline, on synthetic models with the real interfaces.

The fake swappers paint green (or give the crop back), the fake XSeg calls dark pixels occluded,
and the fake BiSeNet labels the parts of an arcface_128-aligned face by position; so each test
can say exactly which pixels must change and which must stay the target's.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.support import onnx_fakes as fakes
from tests.support.onnx_fakes import smooth_frame
from tests.support.unmarked import unmarked
from plasticvision.api import FaceSwapper
from plasticvision.config import ServerConfig
from plasticvision.engines.base import RenderOptions
from plasticvision.engines.inswapper.engine import InswapperEngine
from plasticvision.errors import ModelUnusable, UnsupportedOption
from plasticvision.models.catalog import names_of
from plasticvision.models.store import ModelStore
from plasticvision.server.app import create_app
from plasticvision.settings import Settings
from plasticvision.types import MASK_REGIONS

FACE = fakes.face_at((320, 240), 64)
CPU = ["CPUExecutionProvider"]
PLAIN = dict(mouth_mask=False, sharpness=0.0)  # nothing but the swap and the masks touches the face


def engine_over(root: Path, **build: object) -> InswapperEngine:
    fakes.build_catalog_dir(root, [FACE], **build)  # type: ignore[arg-type]
    return InswapperEngine.from_store(ModelStore(root, checksums=False), providers=CPU)


@pytest.fixture(scope="module")
def green(tmp_path_factory: pytest.TempPathFactory) -> FaceSwapper:
    swapper = FaceSwapper(engine=engine_over(tmp_path_factory.mktemp("green")))
    unmarked(swapper.default_session)  # compares exact pixels far from the face, where a small face's mark reaches
    swapper.set_sources([smooth_frame()])
    return swapper


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> InswapperEngine:
    return engine_over(tmp_path_factory.mktemp("identity"), colour_rgb=None)


def striped() -> np.ndarray:
    """Texture, so the colour-matched flat swap differs from the target everywhere on the face."""
    stripes = (np.indices((480, 640)).sum(axis=0) // 8 % 2 * 50).astype(np.uint8)[:, :, None]
    return smooth_frame() + stripes


def change_at(out: np.ndarray, frame: np.ndarray, point: np.ndarray, half: int = 2) -> float:
    """The largest grey-level change in a small window around `point`."""
    x, y = (int(v) for v in point)
    window = (slice(y - half, y + half + 1), slice(x - half, x + half + 1))
    return float(np.abs(out[window].astype(int) - frame[window]).max())


@pytest.mark.parametrize("name", names_of("swapper"))
def test_every_swapper_lands_its_crop_in_place_and_at_scale(identity: InswapperEngine, name: str) -> None:
    y, x = np.indices((480, 640))
    ripples = 40 * np.sin(x * np.pi / 12) * np.sin(y * np.pi / 12)  # a one-pixel shift changes it by ~10 levels
    frame = np.clip(smooth_frame() * 0.6 + 50 + ripples[:, :, None], 0, 255).astype(np.uint8)
    target = identity.detect(frame)[0]
    rendered = identity.render(frame, target, [identity.prepare_source(frame)], RenderOptions(name))
    inside = rendered.mask > 0.99
    # A crop given back unchanged must land on the very pixels it was cut from: any shift or scale error
    # would show on this texture.
    error = np.abs(rendered.swapped.astype(int) - frame[rendered.region.slices])[inside]
    assert error.mean() < 1.5, name
    for x, y in rendered.face.landmarks_5:
        assert inside[int(y), int(x)]
    assert rendered.region.width > 2 * (FACE.points[1, 0] - FACE.points[0, 0])


def test_hyperswap_is_the_default_and_every_swapper_paints_the_face(green: FaceSwapper) -> None:
    assert green.engine.default_swapper == "hyperswap_1a_256"  # type: ignore[attr-defined]
    frame = striped()
    for name in names_of("swapper"):
        out = green.swap(frame, Settings(swapper=name, **PLAIN))
        assert change_at(out, frame, FACE.points[2]) > 20, name
        assert (out[:80] == frame[:80]).all()


def bar_frame() -> tuple[np.ndarray, slice, slice]:
    """The smooth frame with a dark bar across the face just below the eyes (a hand, a microphone)."""
    frame = striped()
    eye_y = int(FACE.points[0, 1])
    rows = slice(eye_y + 8, eye_y + 20)
    cols = slice(int(FACE.points[0, 0]) - 10, int(FACE.points[1, 0]) + 10)
    frame[rows, cols] = 10
    return frame, rows, cols


def test_an_occluder_that_sees_a_dark_bar_keeps_the_bar(green: FaceSwapper) -> None:
    frame, rows, cols = bar_frame()
    inner = (slice(rows.start + 4, rows.stop - 4), slice(cols.start + 12, cols.stop - 12))
    plain = green.swap(frame, Settings(**PLAIN))
    assert np.abs(plain[inner].astype(int) - frame[inner]).mean() > 30  # painted over without the mask

    occluded = green.swap(frame, Settings(face_masks=["occlusion"], **PLAIN))
    assert np.abs(occluded[inner].astype(int) - frame[inner]).max() <= 2  # the bar stays in front
    assert change_at(occluded, frame, FACE.points[2]) > 20  # the face around it is still swapped


def test_a_region_mask_without_the_eyes_leaves_the_targets_eyes(green: FaceSwapper) -> None:
    frame = striped()
    no_eyes = [region for region in MASK_REGIONS if not region.endswith("-eye")]
    out = green.swap(frame, Settings(face_masks=["region"], mask_regions=no_eyes, **PLAIN))
    for eye in FACE.points[:2]:
        assert change_at(out, frame, eye) <= 2
    assert change_at(out, frame, FACE.points[2]) > 20
    with_eyes = green.swap(frame, Settings(face_masks=["region"], **PLAIN))
    assert change_at(with_eyes, frame, FACE.points[0]) > 20


def test_box_mask_and_every_enhancer_run_and_are_timed(green: FaceSwapper) -> None:
    frame = striped()
    for enhancer in names_of("enhancer"):
        settings = Settings(enhance=True, enhancer=enhancer, face_masks=["box", "occlusion", "region"], **PLAIN)
        report = green.swap_report(frame, settings)
        assert report.faces_swapped == 1 and {"swap", "enhance", "masks"} <= set(report.timings_ms), enhancer


def test_a_mismatched_or_broken_model_file_is_a_clear_422_never_a_500(tmp_path: Path) -> None:
    engine = engine_over(tmp_path)
    fakes.build_gfpgan(tmp_path / "hyperswap_1b_256.onnx")  # an enhancer under a swapper's name
    (tmp_path / "hyperswap_1c_256.onnx").write_bytes(b"\x00" * 100)
    swapper = FaceSwapper(engine=engine)
    session = swapper.new_session()
    with pytest.raises(ModelUnusable, match=r"hyperswap_1b_256: .* takes inputs \['input'\]"):
        session.update_settings({"swapper": "hyperswap_1b_256"})
    with pytest.raises(ModelUnusable, match="hyperswap_1c_256: .* not a loadable ONNX model"):
        session.update_settings({"swapper": "hyperswap_1c_256"})
    assert session.settings.swapper is None  # a refused choice leaves the session as it was

    with TestClient(create_app(ServerConfig(engine="inswapper", data_dir=tmp_path / "data"), swapper)) as client:
        answer = client.post("/settings", json={"swapper": "hyperswap_1c_256"})
        assert answer.status_code == 422 and "not a loadable ONNX model" in answer.json()["detail"]
        answer = client.post("/settings", json={"swapper": "no_such_model"})
        assert answer.status_code == 422 and "swapper" in answer.json()["detail"]


def test_a_model_not_on_the_server_is_a_422_naming_those_that_are(tmp_path: Path) -> None:
    fakes.build_catalog_dir(tmp_path, [FACE], swappers=("inswapper_128",))
    (tmp_path / "gfpgan_1.4.onnx").unlink()
    engine = InswapperEngine.from_store(ModelStore(tmp_path, checksums=False), providers=CPU)
    assert engine.default_swapper == "inswapper_128"  # no inswapper... no hyperswap: the best present
    session = FaceSwapper(engine=engine).new_session()
    with pytest.raises(UnsupportedOption, match=r"swapper hyperswap_1a_256 is not usable .*missing.*swappers here: "
                                                r"inswapper_128.*plasticvision models download hyperswap_1a_256"):
        session.update_settings({"swapper": "hyperswap_1a_256"})
    with pytest.raises(UnsupportedOption, match="enhancers here: gpen_bfr_512, codeformer"):
        session.update_settings({"enhance": True, "enhancer": "gfpgan_1.4"})


def test_the_dlib_engine_refuses_neural_choices_with_a_422(swapper: FaceSwapper) -> None:
    session = swapper.new_session()
    with pytest.raises(UnsupportedOption, match="swapper needs the neural engine"):
        session.update_settings({"swapper": "hyperswap_1a_256"})
    with pytest.raises(UnsupportedOption, match="region .*bisenet_resnet_34"):
        session.update_settings({"face_masks": ["region"]})  # no parser attached to this dlib engine
    session.update_settings({"face_masks": ["box"]})  # box and occlusion are harmless there


def test_a_live_stream_with_masks_swaps_like_a_still(green: FaceSwapper) -> None:
    frame, rows, cols = bar_frame()
    stream = green.stream(Settings(face_masks=["occlusion", "region"], **PLAIN))
    for _ in range(3):
        out = stream.swap(frame).frame
    inner = (slice(rows.start + 4, rows.stop - 4), slice(cols.start + 12, cols.stop - 12))
    assert np.abs(out[inner].astype(int) - frame[inner]).max() <= 2


def test_models_route_and_status_list_every_model_by_role(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from plasticvision.config import get_settings
    from plasticvision.models.catalog import CATALOG

    fakes.build_catalog_dir(tmp_path, [FACE], swappers=("hyperswap_1b_256",))
    monkeypatch.setenv("PLASTICVISION_MODEL_CHECKSUMS", "off")
    get_settings.cache_clear()
    try:
        engine = InswapperEngine.from_store(ModelStore(tmp_path, checksums=False), providers=CPU)
        config = ServerConfig(engine="inswapper", models_dir=tmp_path, data_dir=tmp_path / "data")
        with TestClient(create_app(config, FaceSwapper(engine=engine))) as client:
            listing = client.get("/models").json()
            status = client.get("/status").json()
    finally:
        get_settings.cache_clear()
    assert sum(len(models) for models in listing["roles"].values()) == len(CATALOG)
    swappers = {entry["name"]: entry for entry in listing["roles"]["swapper"]}
    assert swappers["hyperswap_1b_256"]["status"] == "present" and swappers["inswapper_128"]["status"] == "missing"
    assert swappers["simswap_256"]["commercial"] is False and "CRC32" in swappers["hyperswap_1a_256"]["checksum"]
    assert listing["choices"]["swappers"] == ["hyperswap_1b_256"]
    assert status["models"]["default_swapper"] == "hyperswap_1b_256" and status["models"]["occluder"] == "xseg_1"


def test_xseg_and_bisenet_serve_the_dlib_engine_through_the_seams(tmp_path: Path, read_test_image) -> None:
    from plasticvision.engines.base import OccludingEngine, ParsingEngine
    from plasticvision.engines.select import load_dlib
    from plasticvision.geometry.warp import WARP_TEMPLATES

    fakes.build_xseg(tmp_path / "xseg_1.onnx")
    fakes.build_bisenet(tmp_path / "bisenet_resnet_34.onnx", WARP_TEMPLATES["arcface_128"])
    (tmp_path / "xseg_1.hash").write_text(format(zlib.crc32((tmp_path / "xseg_1.onnx").read_bytes()), "08x"))
    (tmp_path / "bisenet_resnet_34.hash").write_text(
        format(zlib.crc32((tmp_path / "bisenet_resnet_34.onnx").read_bytes()), "08x"))
    engine = load_dlib(ModelStore(tmp_path))  # FaceFusion's files with their sidecars: checked, then attached
    assert isinstance(engine, OccludingEngine) and isinstance(engine, ParsingEngine)
    swapper = FaceSwapper(engine=engine)
    swapper.set_sources([read_test_image("Tom_Hanks_54745.png")])
    target = read_test_image("astronaut.png")
    face = engine.detect(target)[0]
    x0, y0, x1, y1 = (int(v) for v in face.box)
    bar = (slice((y0 + y1) // 2 - 6, (y0 + y1) // 2 + 6), slice(x0 + (x1 - x0) // 4, x1 - (x1 - x0) // 4))
    target[bar] = 8
    inner = (slice(bar[0].start + 3, bar[0].stop - 3), slice(bar[1].start + 6, bar[1].stop - 6))
    plain = swapper.swap(target, Settings(face_masks=["box"], **PLAIN))  # a choice without occlusion (dlib's default has it)
    assert np.abs(plain[inner].astype(int) - target[inner]).mean() > 15
    kept = swapper.swap(target, Settings(face_masks=["occlusion"], **PLAIN))
    assert np.abs(kept[inner].astype(int) - target[inner]).max() <= 3
    assert np.abs(kept.astype(int) - target).sum(axis=2).max() > 60  # the rest of the face is still swapped

    no_eyes = [region for region in MASK_REGIONS if not region.endswith("-eye")]
    parsed = swapper.swap(target, Settings(face_masks=["region"], mask_regions=no_eyes, **PLAIN))
    for eye in face.landmarks_5[:2]:
        assert change_at(parsed, target, eye) <= 3
    assert change_at(parsed, target, face.landmarks_5[2]) > 20
