"""The One-Euro filter on synthetic landmark tracks: still faces stop jittering, moving ones do not lag."""

from __future__ import annotations

import numpy as np
import pytest

from plasticvision.pipeline.smoothing import OneEuroFilter

FPS = 30.0
FACE = 150.0  # face width in pixels
SHAPE = np.random.default_rng(0).uniform(-FACE / 2, FACE / 2, (68, 2)).astype(np.float32)


def run(filter_: OneEuroFilter, track: np.ndarray) -> np.ndarray:
    return np.stack([filter_(points, 1 / FPS, FACE) for points in track])


def jitter(track: np.ndarray) -> float:
    """RMS landmark acceleration (second difference), in pixels per frame squared."""
    return float(np.sqrt(np.mean(np.diff(track, n=2, axis=0) ** 2)))


def noisy(track: np.ndarray, sigma: float, seed: int = 1) -> np.ndarray:
    return (track + np.random.default_rng(seed).normal(0, sigma, track.shape)).astype(np.float32)


def moving(speed_px_per_frame: float, frames: int) -> np.ndarray:
    """The face shape sliding right at a constant speed."""
    shift = np.arange(frames, dtype=np.float32)[:, None, None] * np.array([speed_px_per_frame, 0], np.float32)
    return SHAPE[None] + 300 + shift


def test_still_face_jitter_drops_by_more_than_half():
    truth = moving(0.0, 120)
    raw = noisy(truth, 0.6)
    smoothed = run(OneEuroFilter(), raw)
    assert jitter(smoothed[10:]) < 0.3 * jitter(raw[10:])
    assert np.abs(smoothed[30:] - truth[30:]).mean() < 0.5  # steady where the face is, not offset


def test_smoothly_moving_face_jitter_drops_by_half():
    truth = moving(2.0, 120)  # 60 px/s: a head turning slowly
    raw = noisy(truth, 0.6)
    smoothed = run(OneEuroFilter(), raw)
    assert jitter(smoothed[10:]) < 0.5 * jitter(raw[10:])


@pytest.mark.parametrize("speed", [12.0, 25.0])
def test_fast_motion_lags_at_most_one_frame(speed):
    truth = moving(speed, 60)
    smoothed = run(OneEuroFilter(), noisy(truth, 0.6))
    lag_frames = (truth[20:, :, 0] - smoothed[20:, :, 0]).mean() / speed
    assert lag_frames <= 1.0


def test_a_plain_low_pass_would_lag_so_the_speed_term_matters():
    truth = moving(12.0, 60)
    smoothed = run(OneEuroFilter(beta=0.0), truth)
    lag_frames = (truth[20:, :, 0] - smoothed[20:, :, 0]).mean() / 12.0
    assert lag_frames > 2.0


def test_first_sample_and_shape_change_pass_through_unfiltered():
    filter_ = OneEuroFilter()
    first = SHAPE + 10
    assert np.array_equal(filter_(first, 1 / FPS, FACE), first)
    other = np.zeros((5, 2), np.float32)
    assert np.array_equal(filter_(other, 1 / FPS, FACE), other)
