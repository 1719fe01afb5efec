"""Alignment geometry: templates, the similarity fit, and crops that paste back where they came from."""

from __future__ import annotations

import numpy as np
import pytest

from plasticvision.geometry.align import (
    ARCFACE_TEMPLATE_112,
    arcface_template,
    crop_area_mask,
    estimate_similarity,
    paste_back,
    paste_region,
    transform_points,
    warp_crop,
)
from tests.support.onnx_fakes import smooth_frame


def similarity(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    a = np.radians(angle_deg)
    rotation = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.hstack([rotation, np.array(shift)[:, None]])


def test_arcface_template_scales_from_112_and_shifts_128_by_eight() -> None:
    np.testing.assert_allclose(arcface_template(224), ARCFACE_TEMPLATE_112 * 2)
    np.testing.assert_allclose(arcface_template(128), ARCFACE_TEMPLATE_112 + (8, 0))
    np.testing.assert_allclose(arcface_template(256), (ARCFACE_TEMPLATE_112 + (8, 0)) * 2)
    with pytest.raises(ValueError):
        arcface_template(100)


def test_similarity_fit_recovers_a_known_transform() -> None:
    truth = similarity(23.0, 1.7, (40.0, -12.0))
    src = ARCFACE_TEMPLATE_112 * 2 + 30
    np.testing.assert_allclose(estimate_similarity(src, transform_points(src, truth)), truth, atol=1e-4)


def test_similarity_fit_never_shears_noisy_points() -> None:
    rng = np.random.default_rng(0)
    dst = ARCFACE_TEMPLATE_112 + rng.normal(0, 3, (5, 2))
    matrix = estimate_similarity(ARCFACE_TEMPLATE_112, dst)
    (a, b), (c, d) = matrix[:, :2]
    assert a == pytest.approx(d) and b == pytest.approx(-c)


def test_crop_pastes_back_onto_the_pixels_it_came_from() -> None:
    frame = smooth_frame()
    points = transform_points(arcface_template(128), similarity(-15.0, 1.6, (210.0, 120.0)))
    matrix = estimate_similarity(points, arcface_template(128))
    crop = warp_crop(frame, matrix, 128)
    region = paste_region(matrix, 128, frame.shape)
    pasted = paste_back(crop, matrix, region, np.zeros((region.height, region.width, 3), np.uint8))
    mask = crop_area_mask(matrix, 128, 4, region)

    inside = mask > 0.99
    assert inside.sum() > 0.8 * (120 * 1.6) ** 2
    error = np.abs(pasted.astype(int) - frame[region.slices])[inside]
    assert error.mean() < 1.0 and error.max() <= 4
    centre = transform_points(np.array([[64.0, 64.0]]), np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2])
    ys, xs = np.nonzero(inside)
    assert abs(xs.mean() + region.x0 - centre[0, 0]) < 2 and abs(ys.mean() + region.y0 - centre[0, 1]) < 2


def test_crop_area_mask_covers_the_crop_less_its_border() -> None:
    matrix = estimate_similarity(arcface_template(128) * 2 + 50, arcface_template(128))  # 2 frame px per crop px
    region = paste_region(matrix, 128, (600, 600, 3))
    mask = crop_area_mask(matrix, 128, 4, region)
    assert mask.dtype == np.float32 and set(np.unique(mask)) == {0.0, 1.0}
    assert abs(mask.sum() - (120 * 2) ** 2) < 4 * 240  # within a pixel along the outline
    ys, xs = np.nonzero(mask)
    assert (xs.min(), ys.min()) == (8, 8) and (xs.max(), ys.max()) in {(247, 247), (248, 248)}


def test_paste_region_is_clipped_to_the_frame() -> None:
    matrix = estimate_similarity(arcface_template(128) * 3 - 100, arcface_template(128))
    region = paste_region(matrix, 128, (200, 300, 3))
    assert (region.x0, region.y0) == (0, 0) and region.x1 <= 300 and region.y1 <= 200
