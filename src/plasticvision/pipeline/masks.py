"""Face-region masks built from landmarks: where the mouth is, and how to soften edges."""

from __future__ import annotations

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
