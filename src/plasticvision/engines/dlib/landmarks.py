"""dlib's face detector and 68-point shape predictor, wrapped to return `Face` objects.

Detection runs on a down-scaled frame (HOG cost grows with pixels) and falls back to full
resolution, then to one up-sampling, only when nothing was found: big faces are cheap and
small faces are still found.
"""

from __future__ import annotations

import math
import threading

import cv2
import dlib
import numpy as np

from plasticvision.engines.dlib.model_files import LANDMARKS_68, model_file
from plasticvision.geometry.boxes import box_iou, points_box, reframe
from plasticvision.types import Face, Frame, Points

DETECT_LONG_SIDE = 400
REFINE_MARGIN = 0.5  # the predictor samples pixels a little outside its box: crop with room
REFINE_SECOND_PASS = 0.08  # re-run from the new box when the face moved this much of its size
REFINE_MIN_OVERLAP = 0.5  # below this IoU with the last landmarks the predictor lost the face
REFINE_MAX_SCALE_CHANGE = 1.25  # nor may the face grow or shrink more than this in one frame
HOG_MIN_MARGIN = 0.3  # below this, HOG hits are mostly clothing and background texture
EYE_LEFT_68 = slice(36, 42)  # image-left eye (the subject's right)
EYE_RIGHT_68 = slice(42, 48)
NOSE_TIP_68 = 30
MOUTH_LEFT_68, MOUTH_RIGHT_68 = 48, 54


def five_from_68(points: Points) -> Points:
    """The 5 ArcFace-order points (eyes, nose tip, mouth corners) from 68 landmarks."""
    return np.array(
        [
            points[EYE_LEFT_68].mean(axis=0),
            points[EYE_RIGHT_68].mean(axis=0),
            points[NOSE_TIP_68],
            points[MOUTH_LEFT_68],
            points[MOUTH_RIGHT_68],
        ],
        np.float32,
    )


def score_from_hog(value: float) -> float:
    """Map HOG's unbounded margin to 0..1 (0 margin = 0.5), comparable with neural detectors."""
    return 1.0 / (1.0 + math.exp(-2.0 * value))


class DlibLandmarker:
    """HOG face detector + 68-point shape predictor, safe to call from many threads.

    dlib's HOG detector keeps scratch buffers and crashes when two threads run it at once,
    so each thread gets its own (they are cheap to build); the shape predictor is read-only
    and shared.
    """

    def __init__(self) -> None:
        self.predictor = dlib.shape_predictor(model_file(LANDMARKS_68))
        self._per_thread = threading.local()

    @property
    def detector(self) -> dlib.fhog_object_detector:
        detector = getattr(self._per_thread, "detector", None)
        if detector is None:
            detector = self._per_thread.detector = dlib.get_frontal_face_detector()
        return detector

    def detect(self, frame: Frame) -> list[Face]:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        for scale, upsample in self.passes(gray.shape):
            boxes = self.detect_boxes(gray, scale, upsample)
            if boxes:
                return [self.landmarks(gray, box, score) for box, score in boxes]
        return []

    @staticmethod
    def passes(shape: tuple[int, ...]) -> list[tuple[float, int]]:
        """(scale, up-samplings) to try, cheapest first: big faces are found at a fraction of the cost."""
        long_side = max(shape[:2])
        fast = min(1.0, DETECT_LONG_SIDE / long_side)
        passes = [(fast, 0)]
        if fast < 1.0:
            passes.append((min(1.0, 2 * fast), 0))
        passes.append((min(1.0, 1000 / long_side), 1))
        return passes

    def detect_boxes(
        self, gray: np.ndarray, scale: float, upsample: int, margin: float = HOG_MIN_MARGIN
    ) -> list[tuple[np.ndarray, float]]:
        """HOG boxes (in `gray`'s pixels) and 0..1 scores, searched at `scale` with `upsample`."""
        small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        rects, scores, _ = self.detector.run(small, upsample, margin)
        return [
            (np.array([r.left(), r.top(), r.right(), r.bottom()], np.float32) / scale, score_from_hog(s))
            for r, s in zip(rects, scores)
        ]

    def landmarks(self, gray: np.ndarray, box: np.ndarray, score: float) -> Face:
        """68 landmarks inside a detector box."""
        points = self.predict(gray, box)
        return Face(box=box.astype(np.float32), landmarks_5=five_from_68(points), score=score, landmarks_68=points)

    def predict(self, gray: np.ndarray, box: np.ndarray) -> Points:
        """The 68 landmarks the shape predictor finds from a detector box."""
        rect = dlib.rectangle(*(int(round(v)) for v in box))
        shape = self.predictor(gray, rect)
        return np.array([(p.x, p.y) for p in shape.parts()], np.float32)

    def refine(self, frame: Frame, face: Face) -> Face | None:
        """The face in this frame, found by the predictor alone, started from `face`'s box.

        Only a window around the face is converted to gray and searched. The new box is the
        old one moved with the landmarks (same offsets to their bounding box), so it keeps
        the detector's framing that the predictor was trained on. When the face moved far,
        one more pass starts from where it now is; when the result no longer overlaps the
        last landmarks (lost, occluded, or jumped), None tells the tracker to detect.
        """
        if face.landmarks_68 is None:
            return None
        last = points_box(face.landmarks_68)
        h, w = frame.shape[:2]
        grow = REFINE_MARGIN * max(face.width, face.height)
        x0, y0 = max(int(face.box[0] - grow), 0), max(int(face.box[1] - grow), 0)
        x1, y1 = min(int(face.box[2] + grow) + 1, w), min(int(face.box[3] + grow) + 1, h)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        gray = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
        offset = np.tile(np.array([x0, y0], np.float32), 2)
        points = self.predict(gray, face.box - offset)
        new = points_box(points) + offset
        if float(np.abs(new - last).max()) > REFINE_SECOND_PASS * face.width:
            points = self.predict(gray, reframe(face.box, last, new) - offset)
            new = points_box(points) + offset
        points += offset[:2]
        scale = (new[2] - new[0]) / max(float(last[2] - last[0]), 1.0)
        if box_iou(new, last) < REFINE_MIN_OVERLAP or not 1 / REFINE_MAX_SCALE_CHANGE <= scale <= REFINE_MAX_SCALE_CHANGE:
            return None
        return Face(
            box=reframe(face.box, last, new),
            landmarks_5=five_from_68(points),
            score=face.score,
            landmarks_68=points,
        )
