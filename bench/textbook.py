"""The textbook face swap that benchmarks compare against, as tutorials write it.

dlib's HOG detector and 68-point predictor on the full frame, a Delaunay triangulation of the
source landmarks, one `warpAffine` per triangle over the triangle's bounding rectangle, and
`cv2.seamlessClone` of the warped face into the frame (the pattern of the LearnOpenCV and
PyImageSearch face-swap tutorials). The source is prepared once, as they also do.
"""

from __future__ import annotations

import cv2
import dlib
import face_recognition_models
import numpy as np

from plasticvision.engines.dlib.mesh import triangulate

STAGES = ("detect", "landmarks", "warp", "clone")


class TextbookSwapper:
    """Swaps one prepared source face into frames; `timings_ms` holds the last frame's stages."""

    def __init__(self, source_bgr: np.ndarray) -> None:
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
        self.source = source_bgr
        gray = cv2.cvtColor(source_bgr, cv2.COLOR_BGR2GRAY)
        rects = self.detector(gray, 1)  # source photos may be small: one up-sampling
        if not rects:
            raise ValueError("no face in the source image")
        self.points = self._landmarks(gray, max(rects, key=lambda r: r.area()))
        self.triangles = triangulate(self.points)
        self.timings_ms: dict[str, float] = {}

    def _landmarks(self, gray: np.ndarray, rect: dlib.rectangle) -> np.ndarray:
        shape = self.predictor(gray, rect)
        return np.array([(p.x, p.y) for p in shape.parts()], np.float32)

    def __call__(self, target_bgr: np.ndarray) -> np.ndarray:
        ticks = [cv2.getTickCount()]
        gray = cv2.cvtColor(target_bgr, cv2.COLOR_BGR2GRAY)
        rects = self.detector(gray, 0)
        ticks.append(cv2.getTickCount())
        if not rects:
            self.timings_ms = {"detect": (ticks[1] - ticks[0]) * 1000 / cv2.getTickFrequency()}
            return target_bgr.copy()
        points = self._landmarks(gray, max(rects, key=lambda r: r.area()))
        ticks.append(cv2.getTickCount())
        warped = target_bgr.copy()
        for triangle in self.triangles:
            warp_triangle(self.source, warped, self.points[triangle], points[triangle])
        ticks.append(cv2.getTickCount())
        hull = cv2.convexHull(points.astype(np.int32))
        mask = np.zeros(target_bgr.shape[:2], np.uint8)
        cv2.fillConvexPoly(mask, hull, 255)
        x, y, w, h = cv2.boundingRect(hull)
        out = cv2.seamlessClone(warped, target_bgr, mask, (x + w // 2, y + h // 2), cv2.NORMAL_CLONE)
        ticks.append(cv2.getTickCount())
        self.timings_ms = {
            name: (b - a) * 1000 / cv2.getTickFrequency() for name, a, b in zip(STAGES, ticks, ticks[1:])
        }
        return out


def warp_triangle(source: np.ndarray, target: np.ndarray, src_tri: np.ndarray, dst_tri: np.ndarray) -> None:
    """Warp one source triangle onto `target` in place, through the two bounding rectangles."""
    sx, sy, sw, sh = cv2.boundingRect(src_tri)
    tx, ty, tw, th = cv2.boundingRect(dst_tri)
    if min(tw, th, sw, sh) == 0 or min(tx, ty, sx, sy) < 0:
        return  # a triangle off the frame's top or left edge: tutorials skip (or crash)
    src_local = (src_tri - (sx, sy)).astype(np.float32)
    dst_local = (dst_tri - (tx, ty)).astype(np.float32)
    matrix = cv2.getAffineTransform(src_local, dst_local)
    patch = cv2.warpAffine(
        source[sy : sy + sh, sx : sx + sw], matrix, (tw, th), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    mask = np.zeros((th, tw, 3), np.float32)
    cv2.fillConvexPoly(mask, np.round(dst_local).astype(np.int32), (1.0, 1.0, 1.0), cv2.LINE_AA)
    region = target[ty : ty + th, tx : tx + tw]
    h, w = region.shape[:2]  # the rectangle may run off the frame's edge
    blended = region * (1.0 - mask[:h, :w]) + patch[:h, :w] * mask[:h, :w]
    region[:] = np.clip(blended, 0, 255).astype(np.uint8)


def textbook_swap(source_bgr: np.ndarray, target_bgr: np.ndarray) -> np.ndarray:
    """One-off textbook swap (prepares the source each call; benchmarks keep a `TextbookSwapper`)."""
    return TextbookSwapper(source_bgr)(target_bgr)
