"""One-Euro filtering of point sets: steady on a still face, no lag when it moves fast.

A fixed low-pass filter trades jitter for lag. The One-Euro filter (Casiez et al., CHI 2012)
raises its cutoff with the speed of the signal, so a still face is smoothed hard and a
moving one is followed closely. Here the speed is that of the whole point set (RMS over the
points), not of each point alone, so every landmark of a face gets the same cutoff: the face
moves as one rigid-ish shape instead of each point lagging by a different amount.
"""

from __future__ import annotations

import math

import numpy as np

from plasticvision.types import Points

MIN_CUTOFF_HZ = 1.0  # cutoff on a still face: removes detector jitter (~0.5 px) almost fully
BETA = 6.0  # cutoff gain per (face size per second) of speed: fast motion passes unfiltered
DERIVATIVE_CUTOFF_HZ = 1.5  # smoothing of the speed estimate itself


def smoothing_factor(cutoff_hz: float, dt: float) -> float:
    """The exponential-smoothing weight of a first-order low-pass with this cutoff."""
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One-Euro filter over an Nx2 point set, with speed measured in units of `scale` per second.

    `scale` (e.g. the face width) makes the parameters independent of how big the face is
    in the frame: a 100 px face and a 300 px face moving by their own width per second get
    the same cutoff.
    """

    def __init__(
        self,
        min_cutoff_hz: float = MIN_CUTOFF_HZ,
        beta: float = BETA,
        derivative_cutoff_hz: float = DERIVATIVE_CUTOFF_HZ,
    ) -> None:
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.derivative_cutoff_hz = derivative_cutoff_hz
        self._value: Points | None = None
        self._speed = 0.0

    def reset(self) -> None:
        self._value = None
        self._speed = 0.0

    def __call__(self, points: Points, dt: float, scale: float) -> Points:
        """The filtered points for a new sample taken `dt` seconds after the previous one."""
        points = np.asarray(points, np.float32)
        if self._value is None or self._value.shape != points.shape or dt <= 0:
            self._value = points.copy()
            self._speed = 0.0
            return points
        velocity = (points - self._value) / (dt * max(scale, 1e-6))
        raw_speed = float(np.sqrt(np.mean(np.sum(velocity * velocity, axis=1))))
        self._speed += smoothing_factor(self.derivative_cutoff_hz, dt) * (raw_speed - self._speed)
        cutoff = self.min_cutoff_hz + self.beta * self._speed
        self._value = self._value + smoothing_factor(cutoff, dt) * (points - self._value)
        return self._value.copy()
