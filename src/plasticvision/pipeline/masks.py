"""Face-region masks built from landmarks: where the mouth is, and how to soften edges."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from plasticvision.types import Face, Mask

LIPS_OUTER_68 = slice(48, 60)


def mouth_polygon(face: Face) -> np.ndarray:
    """The target's lips as a polygon, from 68 landmarks when the engine has them, else 5.

    With only the two mouth corners (SCRFD), the lips are approximated by an ellipse whose
    height follows the corner distance: wide enough to cover open lips, not the chin.
    """
    if face.landmarks_68 is not None:
        lips = face.landmarks_68[LIPS_OUTER_68].astype(np.float32)
        centre = lips.mean(axis=0)
        return ((lips - centre) * 1.15 + centre).astype(np.int32)
    left, right = face.landmarks_5[3], face.landmarks_5[4]
    centre = (left + right) / 2
    width = float(np.linalg.norm(right - left))
    angle = float(np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0])))
    return cv2.ellipse2Poly(
        (int(centre[0]), int(centre[1])), (int(width * 0.65), int(width * 0.38)), int(angle), 0, 360, 15
    )


@dataclass(frozen=True)
class MouthWindow:
    """The part of a face region that the mouth cut touches, and the lips inside it."""

    corner: tuple[int, int]  # x0, y0 in region pixels
    width: int
    height: int
    polygon: np.ndarray  # the lips, in window pixels


def mouth_window(polygon: np.ndarray, blur: int, shape: tuple[int, ...]) -> MouthWindow | None:
    """The lips' bounding box grown by the blur size, clipped to the region; None if outside it.

    Filling and blurring only this window gives the same mask as doing it over the whole
    region (the blur sees only zeros beyond it), at a fraction of the cost.
    """
    h, w = shape[:2]
    x, y, bw, bh = cv2.boundingRect(polygon)
    x0, y0 = max(x - blur, 0), max(y - blur, 0)
    x1, y1 = min(x + bw + blur, w), min(y + bh + blur, h)
    if x1 <= x0 or y1 <= y0:
        return None
    return MouthWindow((x0, y0), x1 - x0, y1 - y0, polygon - np.array([x0, y0], np.int32))


def feather(mask: Mask, radius: int) -> Mask:
    """Soften a mask's edge over about `radius` pixels, inward only, so no seam shows.

    Eroding first keeps the soft edge inside the original outline (the blur spreads both
    ways); blurring a quarter-size copy costs a sixteenth of a full-size blur.
    """
    radius = max(int(radius), 1)
    eroded = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=max(radius // 2, 1))
    h, w = mask.shape[:2]
    small = cv2.resize(eroded, (max(w // 4, 1), max(h // 4, 1)), interpolation=cv2.INTER_AREA)
    k = max(radius // 4, 1) * 2 + 1
    small = cv2.GaussianBlur(small, (k, k), 0)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
