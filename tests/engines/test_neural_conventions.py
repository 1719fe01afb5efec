"""FaceFusion 3.8.1's conventions, one pure function at a time, against values worked out by hand from its code.

(`bench/facefusion_parity.py` compares the same functions with FaceFusion's own code on real
photos when a FaceFusion checkout is at hand; these checks need nothing but this repository.)
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from plasticvision.engines.inswapper import crop_io
from plasticvision.engines.inswapper.face_masks import (
    FACE_MASK_REGIONS,
    combine_masks,
    create_box_mask,
    occluder_input,
    occlusion_mask,
    parser_input,
    region_mask,
    soften,
)
from plasticvision.geometry.warp import WARP_TEMPLATES, estimate_matrix, template_points, warp_face
from plasticvision.models.catalog import spec_named

HYPERSWAP, SIMSWAP, INSWAPPER = (spec_named(n) for n in ("hyperswap_1a_256", "simswap_256", "inswapper_128"))


def test_landmarks_on_the_template_give_the_identity_matrix_and_a_replicated_border() -> None:
    matrix = estimate_matrix(template_points("arcface_128", 256), "arcface_128", 256)
    np.testing.assert_allclose(matrix, [[1, 0, 0], [0, 1, 0]], atol=1e-9)
    frame = np.zeros((100, 100, 3), np.uint8)
    frame[:, -1] = 200  # the right edge column
    crop, _ = warp_face(frame, template_points("arcface_128", 256) * 0.5, "arcface_128", 256)
    assert crop.shape == (256, 256, 3) and (crop[:, -1] == 200).all()  # BORDER_REPLICATE: never black beyond


def test_arcface_128_is_the_112_template_shifted_by_eight_in_a_128_crop() -> None:
    arcface_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
                            [70.7299, 92.2041]])
    np.testing.assert_allclose(WARP_TEMPLATES["arcface_128"] * 128, arcface_112 + (8, 0), atol=1e-4)
    np.testing.assert_allclose(WARP_TEMPLATES["arcface_112_v2"] * 112, arcface_112, atol=1e-4)


def test_crop_tensors_are_rgb_nchw_normalised_per_model() -> None:
    crop = np.zeros((256, 256, 3), np.uint8)
    crop[:] = (0, 128, 255)  # BGR
    hyper = crop_io.prepare_crop_frame(crop, HYPERSWAP)
    assert hyper.shape == (1, 3, 256, 256) and hyper.dtype == np.float32
    np.testing.assert_allclose(hyper[0, :, 0, 0], [1.0, 128 / 127.5 - 1, -1.0], atol=1e-6)  # (x/255 - .5)/.5, RGB
    sim = crop_io.prepare_crop_frame(crop, SIMSWAP)
    np.testing.assert_allclose(sim[0, :, 0, 0], [(1 - 0.485) / 0.229, (128 / 255 - 0.456) / 0.224, -0.406 / 0.225],
                               atol=1e-5)
    np.testing.assert_allclose(crop_io.prepare_crop_frame(crop[:128, :128], INSWAPPER)[0, :, 0, 0],
                               [1.0, 128 / 255, 0.0], atol=1e-6)


def test_outputs_are_denormalised_only_for_hyperswap_then_clipped_and_turned_to_bgr() -> None:
    output = np.zeros((3, 4, 4), np.float32)
    output[0], output[1], output[2] = 0.0, 1.5, -0.5  # R, G, B
    np.testing.assert_allclose(crop_io.normalize_crop_frame(output, HYPERSWAP)[0, 0], [0.25 * 255, 255, 127.5])
    np.testing.assert_allclose(crop_io.normalize_crop_frame(output, SIMSWAP)[0, 0], [0, 255, 0])
    enhanced = crop_io.normalize_enhanced_frame(np.stack([np.full((2, 2), v, np.float32) for v in (1.0, 0.0, -2.0)]))
    assert enhanced[0, 0].tolist() == [0, 128, 255]  # BGR of RGB (1, 0, -2) -> clip -> (x + 1) / 2 * 255, rounded


def test_source_embeddings_as_each_swapper_takes_them() -> None:
    rng = np.random.default_rng(4)
    raws = [rng.standard_normal(512).astype(np.float32) * s for s in (5.0, 30.0)]
    norms = [r / np.linalg.norm(r) for r in raws]
    hyper = crop_io.prepare_source_embedding(raws, HYPERSWAP)
    np.testing.assert_allclose(hyper[0], np.mean(norms, axis=0), atol=1e-6)  # averaged, not renormalised
    emap = rng.standard_normal((512, 512)).astype(np.float32)
    mean = np.mean(raws, axis=0)
    np.testing.assert_allclose(crop_io.prepare_source_embedding(raws, INSWAPPER, emap=emap)[0],
                               mean @ emap / np.linalg.norm(mean), rtol=1e-4, atol=1e-4)
    converted = crop_io.prepare_source_embedding(raws, SIMSWAP, convert=lambda e: 2 * e + 1)
    np.testing.assert_allclose(converted[0], (2 * mean + 1) / np.linalg.norm(2 * mean + 1), atol=1e-6)
    with pytest.raises(ValueError, match="converter"):
        crop_io.prepare_source_embedding(raws, SIMSWAP)


def test_box_mask_is_zero_in_a_border_of_a_quarter_blur_then_blurred() -> None:
    mask = create_box_mask(256)  # blur 0.3: blur_amount int(256 * .5 * .3) = 38, border 19 px, sigma 9.5
    reference = np.ones((256, 256), np.float32)
    reference[:19], reference[-19:], reference[:, :19], reference[:, -19:] = 0, 0, 0, 0
    np.testing.assert_allclose(mask, cv2.GaussianBlur(reference, (0, 0), 9.5), atol=1e-7)
    assert mask[128, 128] == pytest.approx(1.0, abs=1e-4) and mask[0, 0] < 0.05 and not mask.flags.writeable


def test_soften_moves_an_edge_half_a_blur_in_and_stretches_the_rest() -> None:
    step = np.zeros((64, 64), np.float32)
    step[:, 32:] = 1
    soft = soften(step)
    assert soft[32, 20] == 0 and soft[32, 60] == pytest.approx(1, abs=1e-3)
    blurred = cv2.GaussianBlur(step, (0, 0), 5)[32, 36]
    assert soft[32, 36] == pytest.approx((blurred - 0.5) * 2, abs=1e-6)


def test_occluder_input_is_bgr_nhwc_in_0_1_and_its_masks_combine_by_minimum() -> None:
    crop = np.zeros((128, 128, 3), np.uint8)
    crop[:] = (255, 0, 51)
    tensor = occluder_input(crop, 256)
    assert tensor.shape == (1, 256, 256, 3) and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor[0, 5, 5], [1.0, 0.0, 0.2], atol=1e-6)
    visible = np.ones((256, 256, 1), np.float32)
    hidden = visible.copy()
    hidden[:128] = 0
    both = occlusion_mask([visible, hidden], 128)  # FaceFusion's 'many': the minimum of the models
    assert both.shape == (128, 128) and both[10, 64] == 0 and both[120, 64] == pytest.approx(1, abs=1e-3)
    np.testing.assert_allclose(combine_masks([np.full((2, 2), 0.3), np.full((2, 2), 2.0)]), np.full((2, 2), 0.3), 1e-6)


def test_parser_input_is_rgb_imagenet_normalised_and_regions_pick_classes() -> None:
    crop = np.zeros((256, 256, 3), np.float32)
    crop[:] = (255, 0, 0)  # BGR blue, a float crop as the swapper leaves it
    tensor = parser_input(crop, 512)
    assert tensor.shape == (1, 3, 512, 512) and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor[0, :, 0, 0], [-0.485 / 0.229, -0.456 / 0.224, (1 - 0.406) / 0.225], atol=1e-5)
    classes = np.zeros((512, 512), np.int64)
    classes[:, 256:] = FACE_MASK_REGIONS["left-eye"]
    logits = np.eye(19, dtype=np.float32)[classes].transpose(2, 0, 1)
    eyes = region_mask(logits, ["left-eye"], 256)
    skin = region_mask(logits, ["skin", "nose"], 256)
    assert eyes[128, 250] == pytest.approx(1, abs=1e-3) and eyes[128, 5] == 0
    assert skin.max() == 0
