"""Synthetic 640x480 webcam clips of a moving, zooming face with known motion.

Each frame is the astronaut photo under a known similarity transform, so the true position
of every landmark is known in every frame: the reference landmarks (found once on a sharp,
enlarged copy) mapped by that frame's transform. That makes jitter and lag measurable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SIZE = (640, 480)
FACE_CENTRE = np.array([215.0, 125.0])  # the astronaut's face centre in the photo
REFERENCE_UPSCALE = 2.0


@dataclass(frozen=True)
class Clip:
    """Frames and, for each, the 2x3 transform from photo to frame pixels."""

    name: str
    frames: list[np.ndarray]
    matrices: list[np.ndarray]

    def truth(self, reference: np.ndarray) -> np.ndarray:
        """Where the reference landmarks (photo pixels) are in every frame: frames x N x 2."""
        return np.stack([reference @ m[:, :2].T + m[:, 2] for m in self.matrices]).astype(np.float32)


def load(name: str) -> np.ndarray:
    image = cv2.imread(str(DATA / name), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(DATA / name)
    return image


def placement(scale: float, centre: tuple[float, float]) -> np.ndarray:
    """The transform that shows the photo at `scale` with the face centre at `centre`."""
    cx, cy = centre
    return np.array(
        [[scale, 0.0, cx - scale * FACE_CENTRE[0]], [0.0, scale, cy - scale * FACE_CENTRE[1]]], np.float64
    )


def render(photo: np.ndarray, matrices: list[np.ndarray], name: str) -> Clip:
    frames = [
        cv2.warpAffine(photo, m, SIZE, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT) for m in matrices
    ]
    return Clip(name, frames, matrices)


def smooth_clip(photo: np.ndarray, frames: int = 150, fps: float = 30.0) -> Clip:
    """A head drifting and leaning in: slow sway (+-60 px, 4 s), nod (+-20 px, 3 s), zoom 1.5x-1.9x (6 s)."""
    t = np.arange(frames) / fps
    matrices = [
        placement(1.7 + 0.2 * np.sin(2 * np.pi * ti / 6), (320 + 60 * np.sin(2 * np.pi * ti / 4), 230 + 20 * np.sin(2 * np.pi * ti / 3)))
        for ti in t
    ]
    return render(photo, matrices, "smooth")


def fast_clip(photo: np.ndarray, frames: int = 40, speed_px: float = 12.0) -> Clip:
    """A quick pan at a constant `speed_px` per frame (360 px/s at 30 fps), left to right."""
    start = 320 - speed_px * (frames - 1) / 2
    matrices = [placement(1.6, (start + speed_px * i, 230)) for i in range(frames)]
    return render(photo, matrices, "fast")
