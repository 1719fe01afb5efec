"""The ONNX model wrappers against synthetic models with the real interfaces: decoding, preprocessing, latent maths."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import onnx
from onnx import numpy_helper

import tests.support.onnx_fakes as fakes
from tests.support.onnx_fakes import smooth_frame
from plasticvision.engines.inswapper.arcface import ArcFaceRecognizer
from plasticvision.engines.inswapper.emap import read_last_initializer
from plasticvision.engines.inswapper.catalog_models import EnhancerModel, SwapperModel
from plasticvision.engines.inswapper.scrfd import ScrfdDetector, non_maximum_suppression
from plasticvision.errors import ModelUnusable
from plasticvision.geometry.align import ARCFACE_TEMPLATE_112
from plasticvision.models.catalog import spec_named
from plasticvision.types import Face

CPU = ["CPUExecutionProvider"]
INSWAPPER = spec_named("inswapper_128")


def test_scrfd_decodes_boxes_and_keypoints_in_frame_pixels(tmp_path: Path) -> None:
    main = fakes.face_at((300, 200), 50, score=0.9, stride=32)
    other = fakes.face_at((520, 260), 20, score=0.8, stride=8)
    duplicate = fakes.FakeFace(tuple(v + 4 for v in main.box), main.points + 4, 0.7, stride=16)
    faint = fakes.face_at((100, 100), 30, score=0.45, stride=16)
    detector = ScrfdDetector(fakes.build_scrfd(tmp_path / "det.onnx", [main, other, duplicate, faint]), CPU)

    faces = detector.detect(np.zeros((720, 1280, 3), np.uint8))  # letterbox scale 0.5

    assert [round(f.score, 2) for f in faces] == [0.9, 0.8]  # duplicate suppressed, faint below 0.5
    np.testing.assert_allclose(faces[0].box, np.array(main.box) * 2, atol=1e-3)
    np.testing.assert_allclose(faces[0].landmarks_5, main.points * 2, atol=1e-3)
    np.testing.assert_allclose(faces[1].box, np.array(other.box) * 2, atol=1e-3)


def test_scrfd_letterbox_keeps_aspect_pads_bottom_right_and_feeds_rgb(detector: ScrfdDetector) -> None:
    frame = np.zeros((320, 640, 3), np.uint8)
    frame[:, :, 0] = 255  # pure blue in BGR
    blob, scale = detector.letterbox(frame)

    assert blob.shape == (1, 3, 640, 640) and scale == 1.0
    np.testing.assert_allclose(blob[0, 2, :320], (255 - 127.5) / 128)  # blue is the third RGB plane
    np.testing.assert_allclose(blob[0, 0, :320], -127.5 / 128)
    np.testing.assert_allclose(blob[0, :, 320:], -127.5 / 128)  # padding below the image


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> ScrfdDetector:
    return ScrfdDetector(fakes.build_scrfd(tmp_path_factory.mktemp("det") / "det.onnx", []), CPU)


def test_scrfd_letterbox_matches_a_numpy_reference_as_frame_sizes_change(detector: ScrfdDetector) -> None:
    # One detector, frame sizes changing between calls: its reused buffer must never keep old pixels.
    for shape in [(1080, 1920, 3), (700, 400, 3), (480, 640, 3), (480, 640, 3), (700, 400, 3)]:
        frame = np.random.default_rng(shape[0]).integers(0, 256, shape, dtype=np.uint8)
        blob, scale = detector.letterbox(frame)
        h, w = round(shape[0] * scale), round(shape[1] * scale)
        resized = frame if (h, w) == shape[:2] else cv2.resize(frame, (w, h))
        expected = np.full((640, 640, 3), -127.5 / 128, np.float32)
        expected[:h, :w] = (resized[:, :, ::-1] - 127.5) / 128
        assert max(h, w) == 640
        np.testing.assert_allclose(blob[0].transpose(1, 2, 0), expected, atol=1e-6)


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], np.float32)
    assert non_maximum_suppression(boxes, np.array([0.6, 0.9, 0.7], np.float32), 0.4) == [1, 2]


def test_arcface_embeds_the_aligned_crop_like_a_numpy_reference(tmp_path: Path) -> None:
    projection = fakes.arcface_projection()
    recognizer = ArcFaceRecognizer(fakes.build_arcface(tmp_path / "rec.onnx", projection), CPU)
    frame = smooth_frame()
    frame[200:260, 280:330] = (10, 120, 250)  # something asymmetric for the projection to see
    fake = fakes.face_at((310, 230), 70)
    face = Face(box=np.array(fake.box, np.float32), landmarks_5=fake.points, score=0.9)

    # The fake face is the template scaled by s about its centre, so the alignment is known exactly.
    s = 70 / (ARCFACE_TEMPLATE_112[1, 0] - ARCFACE_TEMPLATE_112[0, 0])
    mean = ARCFACE_TEMPLATE_112.mean(axis=0)
    matrix = np.array([[1 / s, 0, mean[0] - 310 / s], [0, 1 / s, mean[1] - 230 / s]])
    crop = cv2.warpAffine(frame, matrix, (112, 112), borderMode=cv2.BORDER_REPLICATE)
    rgb = (crop[:, :, ::-1].astype(np.float32) - 127.5) / 127.5
    pooled = rgb.reshape(7, 16, 7, 16, 3).mean(axis=(1, 3)).transpose(2, 0, 1).reshape(-1)
    expected = pooled @ projection[0] + projection[1]
    expected /= np.linalg.norm(expected)

    embedding = recognizer.embed(frame, face)
    assert embedding.shape == (512,) and abs(np.linalg.norm(embedding) - 1) < 1e-5
    np.testing.assert_allclose(embedding, expected, atol=2e-5)


def test_inswapper_source_is_the_mean_raw_embedding_through_emap_as_facefusion_feeds_it(tmp_path: Path) -> None:
    path = fakes.build_inswapper(tmp_path / "inswapper_128.onnx", fakes.random_emap(), (0, 1, 0))
    model = SwapperModel(INSWAPPER, path, CPU)
    emap = numpy_helper.to_array(onnx.load(str(path)).graph.initializer[-1])
    rng = np.random.default_rng(1)
    embeddings = [rng.standard_normal(512).astype(np.float32) * scale for scale in (1.0, 3.0, 0.2)]

    # FaceFusion: average_face_identity (mean of raw embeddings), then dot(embedding, emap) / norm(embedding)
    mean = np.mean(embeddings, axis=0)
    expected = mean @ emap / np.linalg.norm(mean)

    source = model.source_input(embeddings)
    assert source.shape == (1, 512) and source.dtype == np.float32
    np.testing.assert_allclose(source[0], expected, atol=1e-5)
    assert np.abs(model.source_input(embeddings[:1])[0] - expected).max() > 1e-3  # every source counts


@pytest.mark.parametrize("raw", [True, False])
def test_last_initializer_is_read_without_the_onnx_package(tmp_path: Path, raw: bool) -> None:
    values = np.random.default_rng(2).standard_normal((3, 5)).astype(np.float32)
    data = values.tobytes() if raw else values.reshape(-1).tolist()  # raw_data, or the float_data field
    last = onnx.helper.make_tensor("last", onnx.TensorProto.FLOAT, values.shape, data, raw=raw)
    first = numpy_helper.from_array(np.arange(7, dtype=np.int64), "first")
    inputs = [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])]
    outputs = [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])]
    path = fakes.save([onnx.helper.make_node("Identity", ["x"], ["y"])], inputs, outputs, [first, last],
                      tmp_path / "m.onnx")
    np.testing.assert_array_equal(read_last_initializer(path), values)

    with pytest.raises(ValueError, match="float32"):
        read_last_initializer(fakes.save([onnx.helper.make_node("Identity", ["x"], ["y"])], inputs, outputs,
                                         [last, first], tmp_path / "int.onnx"))
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        read_last_initializer(tmp_path / "empty.onnx")


def test_inswapper_swap_paints_the_models_colour_in_bgr(tmp_path: Path) -> None:
    model = SwapperModel(INSWAPPER, fakes.build_inswapper(tmp_path / "s.onnx", fakes.random_emap(), (1.0, 0.5, 0.0)), CPU)
    out, mask = model.swap(smooth_frame(128, 128), model.source_input([np.ones(512, np.float32)]))
    assert out.shape == (128, 128, 3) and out.dtype == np.float32 and mask is None
    np.testing.assert_allclose(out, np.broadcast_to((0, 127.5, 255), out.shape))  # RGB (1, .5, 0) -> BGR


def test_inswapper_identity_model_round_trips_the_crop(tmp_path: Path) -> None:
    model = SwapperModel(INSWAPPER, fakes.build_inswapper(tmp_path / "s.onnx", fakes.random_emap(), None), CPU)
    crop = smooth_frame(128, 128)
    out, _ = model.swap(crop, model.source_input([np.ones(512, np.float32)]))
    np.testing.assert_allclose(out, crop, atol=1e-3)


def test_a_model_without_its_inputs_is_refused_naming_both(tmp_path: Path) -> None:
    with pytest.raises(ModelUnusable, match=r"takes inputs \['input'\], but inswapper_128 takes \['source', 'target'\]"):
        SwapperModel(INSWAPPER, fakes.build_gfpgan(tmp_path / "g.onnx"), CPU)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelUnusable, match="not a loadable ONNX model"):
        EnhancerModel(spec_named("gfpgan_1.4"), tmp_path / "junk.onnx", CPU)


def test_gfpgan_round_trips_and_clips_to_the_valid_range(tmp_path: Path) -> None:
    crop = smooth_frame(512, 512)
    identity = EnhancerModel(spec_named("gfpgan_1.4"), fakes.build_gfpgan(tmp_path / "g1.onnx", 1.0), CPU)
    assert np.abs(identity.enhance_crop(crop).astype(int) - crop).max() <= 1

    tripled = EnhancerModel(spec_named("gfpgan_1.4"), fakes.build_gfpgan(tmp_path / "g3.onnx", 3.0), CPU)
    out = tripled.enhance_crop(np.full((512, 512, 3), (0, 100, 255), np.uint8))
    # x -> (x/255 - .5)/.5 -> *3 -> clip [-1, 1] -> (y + 1)/2 * 255
    expected = np.clip((np.array([0, 100, 255]) / 255 - 0.5) / 0.5 * 3, -1, 1)
    assert np.abs(out[0, 0].astype(float) - (expected + 1) / 2 * 255).max() <= 1
