"""Thorough face detection for still images (`swap-image`, `detect-faces`), where finding every
face matters more than the last 100 ms; the live path keeps `DlibLandmarker.detect`.

Three things raise recall over the fast path: every scale pass runs and the hits are merged
(the fast path stops at the first pass that finds anything, so one big face hides the small
ones), the image is also searched turned by small angles (HOG only finds roughly upright
faces; the landmarks are predicted on the turned image and turned back), and weak HOG hits
that nothing else explains are confirmed by dlib's CNN (MMOD) detector on a crop around each
(too slow on a whole image on a CPU, cheap on a few crops).
"""

from __future__ import annotations

import threading

import cv2
import dlib
import numpy as np

from plasticvision.engines.dlib.landmarks import HOG_MIN_MARGIN, DlibLandmarker, five_from_68, score_from_hog
from plasticvision.engines.dlib.model_files import CNN_DETECTOR, model_file
from plasticvision.geometry.boxes import box_iou, points_box, reframe
from plasticvision.types import Face, Frame

ROTATIONS = (-30.0, 30.0)  # degrees; HOG's own sub-detectors cover about +-15, these the next 30
ROTATED_LONG_SIDE = 800  # the turned searches run on at most this many pixels
WEAK_MARGIN = -0.35  # HOG hits down to this margin become candidates for the CNN to confirm
MAX_CONFIRMS = 4  # CNN crops per image at most (each costs about 0.2 s of one CPU core)
CNN_FACE_PX = 90  # crops are scaled so the candidate is this wide (MMOD finds faces from ~80 px)
CNN_MIN_CONFIDENCE = 0.2
SAME_FACE_IOU = 0.3


def rotation_about_centre(shape: tuple[int, ...], degrees: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The affine turning an image by `degrees` onto a canvas big enough to keep its corners."""
    h, w = shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(h * sin + w * cos) + 1, int(h * cos + w * sin) + 1
    matrix[:, 2] += (new_w / 2 - w / 2, new_h / 2 - h / 2)
    return matrix, (new_w, new_h)


class StillDetector:
    """Thorough detection on top of a landmarker; the CNN is loaded on first need, once."""

    def __init__(self, landmarker: DlibLandmarker) -> None:
        self.landmarker = landmarker
        self._cnn: dlib.cnn_face_detection_model_v1 | None = None
        self._lock = threading.Lock()  # dlib's CNN is not re-entrant, and loads once

    def detect(self, frame: Frame) -> list[Face]:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        strong, weak = [], []
        for scale, upsample in self.landmarker.passes(gray.shape):
            for box, score in self.landmarker.detect_boxes(gray, scale, upsample, WEAK_MARGIN):
                face = self.landmarker.landmarks(gray, box, score)
                (strong if score >= score_from_hog(HOG_MIN_MARGIN) else weak).append(face)
        for degrees in ROTATIONS:
            strong += self._turned(gray, degrees)
        faces = merged(strong)
        attempts = 0
        for face in merged(weak):
            if any(same_face(face, kept) for kept in faces):
                continue
            if attempts == MAX_CONFIRMS:
                break
            attempts += 1
            if self._confirmed(frame, face):
                faces.append(face)
        return faces

    def _turned(self, gray: np.ndarray, degrees: float) -> list[Face]:
        """Faces found in the image turned by `degrees`, with their landmarks turned back."""
        matrix, size = rotation_about_centre(gray.shape, degrees)
        turned = cv2.warpAffine(gray, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        scale = min(1.0, ROTATED_LONG_SIDE / max(size))
        back = cv2.invertAffineTransform(matrix)
        faces = []
        for box, score in self.landmarker.detect_boxes(turned, scale, 0, HOG_MIN_MARGIN):
            points_turned = self.landmarker.predict(turned, box)
            points = (points_turned @ back[:, :2].T + back[:, 2]).astype(np.float32)
            faces.append(
                Face(
                    box=reframe(box, points_box(points_turned), points_box(points)),
                    landmarks_5=five_from_68(points),
                    score=score,
                    landmarks_68=points,
                )
            )
        return faces

    def _confirmed(self, frame: Frame, face: Face) -> bool:
        """Whether the CNN also sees a face on a crop around this weak HOG hit."""
        x0, y0, x1, y1 = face.box
        grow = 0.5 * max(face.width, face.height)
        h, w = frame.shape[:2]
        cx0, cy0 = max(int(x0 - grow), 0), max(int(y0 - grow), 0)
        cx1, cy1 = min(int(x1 + grow) + 1, w), min(int(y1 + grow) + 1, h)
        scale = CNN_FACE_PX / max(face.width, 1.0)
        crop = cv2.resize(frame[cy0:cy1, cx0:cx1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
        with self._lock:
            if self._cnn is None:
                self._cnn = dlib.cnn_face_detection_model_v1(model_file(CNN_DETECTOR))
            found = self._cnn(rgb, 0)
        hog_box = (np.asarray(face.box) - (cx0, cy0, cx0, cy0)) * scale
        return any(
            d.confidence >= CNN_MIN_CONFIDENCE
            and box_iou(np.array([d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()], np.float32), hog_box) > SAME_FACE_IOU
            for d in found
        )


def same_face(a: Face, b: Face) -> bool:
    """Two hits on one person: their landmark boxes overlap, or one's centre lies in the other's box."""
    box_a, box_b = points_box(a.landmarks_68), points_box(b.landmarks_68)
    if box_iou(box_a, box_b) > SAME_FACE_IOU:
        return True
    (ax, ay), (bx, by) = a.centre, b.centre
    return bool(box_b[0] <= ax <= box_b[2] and box_b[1] <= ay <= box_b[3]) or bool(
        box_a[0] <= bx <= box_a[2] and box_a[1] <= by <= box_a[3]
    )


def merged(faces: list[Face]) -> list[Face]:
    """One face per person: the best-scoring of the hits on each."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: f.score, reverse=True):
        if not any(same_face(face, other) for other in kept):
            kept.append(face)
    return kept
