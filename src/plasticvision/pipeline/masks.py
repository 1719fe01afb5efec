"""Face-region masks built from landmarks: eyes, mouth and other non-skin parts, and soft edges."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from plasticvision.types import Face, Mask

LIPS_OUTER_68 = slice(48, 60)
EYES_68 = (slice(36, 42), slice(42, 48))
BROWS_EACH_68 = (slice(17, 22), slice(22, 27))


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


def eye_polygons(face: Face) -> list[np.ndarray]:
    """Both eyes' openings (whites and irises) as float polygons, from 68 landmarks, else circles
    around the 5-point eye centres sized by the eye distance."""
    if face.landmarks_68 is not None:
        return [face.landmarks_68[part].astype(np.float32) for part in EYES_68]
    left, right = face.landmarks_5[0], face.landmarks_5[1]
    radius = 0.16 * float(np.linalg.norm(right - left))
    circle = np.stack([np.cos(np.linspace(0, 2 * np.pi, 12)), 0.55 * np.sin(np.linspace(0, 2 * np.pi, 12))], 1)
    return [(centre + radius * circle).astype(np.float32) for centre in (left, right)]


def grown(polygon: np.ndarray, factor: float) -> np.ndarray:
    """A polygon scaled about its centre."""
    centre = polygon.mean(axis=0)
    return (polygon - centre) * factor + centre


def features_mask(face: Face, shape: tuple[int, ...]) -> np.ndarray:
    """A uint8 mask (1) of the parts of a face that are not skin: eyes, brows, lips (a little grown)."""
    mask = np.zeros(shape[:2], np.uint8)
    polygons = [grown(eye, 1.5) for eye in eye_polygons(face)] + [mouth_polygon(face).astype(np.float32)]
    cv2.fillPoly(mask, [np.round(p).astype(np.int32) for p in polygons], 1)
    if face.landmarks_68 is not None:
        thickness = max(int(face_size(face) / 14), 2)
        for brow in BROWS_EACH_68:
            cv2.polylines(mask, [np.round(face.landmarks_68[brow]).astype(np.int32)], False, 1, thickness)
    return mask


def face_size(face: Face) -> float:
    return max(face.width, face.height, 1.0)


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
