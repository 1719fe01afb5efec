"""Where a tracked face went since the last frame, and how sure we are: a small template match.

A landmark predictor started far from the face converges to the wrong place (and says
nothing about it), and a face that left the frame still gets landmarks. Matching a tiny
grey template of the face from the last frame against a window around it in this frame
fixes both for a fraction of a millisecond: the best match moves the predictor's start to
where the face now is, and its normalised correlation is the tracking confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from plasticvision.types import Face, Frame

TEMPLATE_WIDTH = 32  # pixels: enough texture to lock on, small enough to cost ~0.1 ms
SEARCH_MARGIN = 0.5  # of the face size on each side: follows a face moving half its width per frame
INNER_FACE = 0.15  # the template drops this much of the box on each side (less background)
MIN_TEXTURE = 2.0  # grey-level spread below which a template matches anything (a dark frame)


def gray_window(frame: Frame, box: np.ndarray, margin: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The box grown by `margin` of its size, clipped, in grey at `scale`; and its top-left corner."""
    h, w = frame.shape[:2]
    size = max(float(box[2] - box[0]), float(box[3] - box[1]))
    x0, y0 = max(int(box[0] - margin * size), 0), max(int(box[1] - margin * size), 0)
    x1, y1 = min(int(np.ceil(box[2] + margin * size)), w), min(int(np.ceil(box[3] + margin * size)), h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((0, 0), np.uint8), np.array([x0, y0], np.float32)
    gray = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return small, np.array([x0, y0], np.float32)


@dataclass(frozen=True)
class FaceTemplate:
    """A small grey picture of a face's inner box, taken in one frame to be found in the next."""

    pixels: np.ndarray
    corner: np.ndarray  # the template's top-left in frame pixels
    scale: float  # template pixels per frame pixel

    @classmethod
    def of(cls, frame: Frame, face: Face) -> "FaceTemplate":
        scale = TEMPLATE_WIDTH / max(face.width, 1.0)
        pixels, corner = gray_window(frame, face.box, -INNER_FACE, scale)
        return cls(pixels, corner, scale)

    def find(self, frame: Frame) -> tuple[np.ndarray, float]:
        """How far the face moved (dx, dy in frame pixels) and the match's correlation (-1..1)."""
        box = np.concatenate([self.corner, self.corner + np.array(self.pixels.shape[::-1]) / self.scale])
        window, corner = gray_window(frame, box, SEARCH_MARGIN, self.scale)
        th, tw = self.pixels.shape
        flat = th * tw == 0 or float(self.pixels.std()) < MIN_TEXTURE
        if flat or th < 4 or tw < 4 or window.shape[0] < th or window.shape[1] < tw:
            return np.zeros(2, np.float32), -1.0
        scores = cv2.matchTemplate(window, self.pixels, cv2.TM_CCOEFF_NORMED)
        _, best, _, (bx, by) = cv2.minMaxLoc(scores)
        found = corner + np.array([bx, by], np.float32) / self.scale
        return (found - self.corner).astype(np.float32), float(best)
