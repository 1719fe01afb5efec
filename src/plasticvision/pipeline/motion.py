"""How a tracked face moved since the last frame: a template match, then optical flow.

A landmark predictor started far from the face converges to the wrong place (and says
nothing about it), and a face that left the frame still gets landmarks. Matching a tiny
grey template of the face from the last frame against the window around it fixes both for
a fraction of a millisecond: the best match says where the face went, and its normalised
correlation is the tracking confidence. Pyramidal Lucas-Kanade flow then carries every
landmark along with the skin under it, about five times cheaper than running the predictor.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from plasticvision.geometry.boxes import points_box, reframe
from plasticvision.types import Face, Frame, Points

TEMPLATE_WIDTH = 32  # pixels: enough texture to lock on, small enough to cost ~0.1 ms
WINDOW_MARGIN = 0.3  # of the face size on each side: follows a face moving 0.3 of its width per frame
INNER_FACE = 0.15  # the template drops this much of the box on each side (less background)
MIN_TEXTURE = 2.0  # grey-level spread below which a template matches anything (a dark frame)
FLOW_WINDOW = (11, 11)
FLOW_LEVELS = 1  # the crop is already moved by the template match: only residual motion is left
FLOW_MARGIN = 0.1  # of the face width around the landmarks: context for the flow window
FLOW_MIN_FOUND = 0.9  # share of landmarks the flow must find, else the engine refines instead
FLOW_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 10, 0.03)


def window_around(box: np.ndarray, margin: float, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The box grown by `margin` of its size on every side, clipped to the frame: x0, y0, x1, y1."""
    h, w = shape[:2]
    size = max(float(box[2] - box[0]), float(box[3] - box[1]))
    x0, y0 = max(int(box[0] - margin * size), 0), max(int(box[1] - margin * size), 0)
    x1, y1 = min(int(np.ceil(box[2] + margin * size)), w), min(int(np.ceil(box[3] + margin * size)), h)
    return x0, y0, max(x1, x0), max(y1, y0)


def landmarks_of(face: Face) -> Points:
    """The points that flow carries: the 5 landmarks, then the 68 when the engine has them."""
    if face.landmarks_68 is None:
        return face.landmarks_5
    return np.vstack([face.landmarks_5, face.landmarks_68]).astype(np.float32)


def with_landmarks(face: Face, points: Points) -> Face:
    """`face` at new landmark positions, its box moved and scaled along with them."""
    old, new = points_box(landmarks_of(face)), points_box(points)
    return Face(
        box=reframe(face.box, old, new),
        landmarks_5=points[:5].copy(),
        score=face.score,
        landmarks_68=points[5:].copy() if face.landmarks_68 is not None else None,
    )


@dataclass(frozen=True)
class Sighting:
    """Where the face of a snapshot is in a new frame: a shift, how sure, and the grey window."""

    shift: np.ndarray  # dx, dy in frame pixels
    confidence: float  # template correlation, -1..1
    gray: np.ndarray  # the new frame's grey pixels in the snapshot's window


@dataclass(frozen=True)
class FaceSnapshot:
    """A face as it looked in one frame: the grey window around it and a small template of it."""

    face: Face
    window: tuple[int, int, int, int]
    gray: np.ndarray
    template: np.ndarray
    template_corner: np.ndarray  # the template's top-left in frame pixels
    scale: float  # template pixels per frame pixel

    @classmethod
    def of(cls, frame: Frame, face: Face) -> FaceSnapshot:
        window = window_around(face.box, WINDOW_MARGIN, frame.shape)
        x0, y0, x1, y1 = window
        gray = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
        ix0, iy0, ix1, iy1 = window_around(face.box, -INNER_FACE, frame.shape)
        scale = TEMPLATE_WIDTH / max(face.width, 1.0)
        inner = gray[max(iy0 - y0, 0) : max(iy1 - y0, 0), max(ix0 - x0, 0) : max(ix1 - x0, 0)]
        template = cv2.resize(inner, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if inner.size else inner
        return cls(face, window, gray, template, np.array([ix0, iy0], np.float32), scale)

    def find(self, frame: Frame) -> Sighting:
        """How far the face moved and how sure that is (-1 when it cannot be told)."""
        x0, y0, x1, y1 = self.window
        if frame.shape[0] < y1 or frame.shape[1] < x1:  # the stream changed size under us
            return Sighting(np.zeros(2, np.float32), -1.0, self.gray)
        gray = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
        if gray.shape != self.gray.shape:
            return Sighting(np.zeros(2, np.float32), -1.0, self.gray)
        small = cv2.resize(gray, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
        th, tw = self.template.shape[:2]
        if th < 4 or tw < 4 or small.shape[0] < th or small.shape[1] < tw or float(self.template.std()) < MIN_TEXTURE:
            return Sighting(np.zeros(2, np.float32), -1.0, gray)
        _, best, _, (bx, by) = cv2.minMaxLoc(cv2.matchTemplate(small, self.template, cv2.TM_CCOEFF_NORMED))
        found = np.array([x0, y0], np.float32) + np.array([bx, by], np.float32) / self.scale
        return Sighting((found - self.template_corner).astype(np.float32), float(best), gray)

    def flow(self, sighting: Sighting) -> Face | None:
        """The face's landmarks carried into the sighting's frame by optical flow; None if they got lost.

        Flow runs on a tight crop around the landmarks, and the new frame's crop is taken
        where the template found the face, so the flow only has the residual motion to find:
        a quarter of the pixels of the whole window, and fewer pyramid levels needed.
        """
        corner = np.array(self.window[:2], np.float32)
        before = landmarks_of(self.face) - corner
        dx, dy = (int(round(float(v))) for v in sighting.shift)
        h, w = self.gray.shape[:2]
        margin = max(FLOW_MARGIN * float(self.face.width), FLOW_WINDOW[0] * 2.0)
        x0, y0 = (before.min(axis=0) - margin).astype(int)
        x1, y1 = (before.max(axis=0) + margin).astype(int) + 1
        x0, y0 = max(x0, 0, -dx), max(y0, 0, -dy)  # both crops must lie inside their windows
        x1, y1 = min(x1, w, w - dx), min(y1, h, h - dy)
        if x1 - x0 < FLOW_WINDOW[0] or y1 - y0 < FLOW_WINDOW[1]:
            return None
        origin = np.array([x0, y0], np.float32)
        start = (before - origin).astype(np.float32)
        guess = (start + sighting.shift - (dx, dy)).astype(np.float32)
        after, status, _ = cv2.calcOpticalFlowPyrLK(
            self.gray[y0:y1, x0:x1],
            sighting.gray[y0 + dy : y1 + dy, x0 + dx : x1 + dx],
            start.reshape(-1, 1, 2),
            guess.reshape(-1, 1, 2),
            winSize=FLOW_WINDOW,
            maxLevel=FLOW_LEVELS,
            criteria=FLOW_CRITERIA,
            flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
        )
        found = status.reshape(-1).astype(bool) if after is not None else np.zeros(len(before), bool)
        if found.mean() < FLOW_MIN_FOUND:
            return None
        after = after.reshape(-1, 2)
        if not found.all():  # the few points flow lost move with the rest of the face
            after[~found] = start[~found] + np.median(after[found] - start[found], axis=0)
        return with_landmarks(self.face, (after + origin + (dx, dy) + corner).astype(np.float32))
