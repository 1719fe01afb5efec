"""`ScrfdDetector`: SCRFD-10GF with 5 keypoints (buffalo_l `det_10g.onnx`), decoded to `Face` objects.

SCRFD (Guo et al., 2021) predicts, for each cell of three feature maps (strides 8, 16, 32) and
two anchors per cell, a score, the distances from the cell's centre to the box's four sides,
and the offsets of five keypoints, all in units of the stride.
"""

from __future__ import annotations

import threading
from pathlib import Path
from collections.abc import Sequence

import cv2
import numpy as np

from plasticvision.engines.inswapper.blob import rgb_blob
from plasticvision.engines.inswapper.providers import ProviderEntry, create_session
from plasticvision.types import Face, Frame

INPUT_SIZE = 640
INPUT_MEAN = 127.5
INPUT_STD = 128.0
FEATURE_STRIDES = (8, 16, 32)
ANCHORS_PER_CELL = 2
SCORE_THRESHOLD = 0.5
NMS_THRESHOLD = 0.4


def anchor_centres(size: int, stride: int) -> np.ndarray:
    """(x, y) of every anchor of a feature map, row-major, each cell repeated per anchor."""
    cells = size // stride
    ys, xs = np.mgrid[:cells, :cells]
    centres = np.stack([xs, ys], axis=-1).reshape(-1, 2).astype(np.float32) * stride
    return np.repeat(centres, ANCHORS_PER_CELL, axis=0)


def non_maximum_suppression(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Indices of the boxes to keep, best first: each suppresses later ones overlapping it by IoU > threshold."""
    order = np.argsort(-scores, kind="stable")
    areas = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        x0 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y0 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x1 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y1 = np.minimum(boxes[best, 3], boxes[rest, 3])
        overlap = np.maximum(x1 - x0, 0) * np.maximum(y1 - y0, 0)
        iou = overlap / np.maximum(areas[best] + areas[rest] - overlap, 1e-6)
        order = rest[iou <= threshold]
    return keep


class ScrfdDetector:
    """Finds faces: letterbox to 640x640, one forward pass, decode, NMS, back to frame coordinates."""

    def __init__(self, path: str | Path, providers: Sequence[ProviderEntry]) -> None:
        self.session = create_session(path, providers)
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        static = [dim for dim in model_input.shape[2:] if isinstance(dim, int)]
        if any(dim != INPUT_SIZE for dim in static):
            raise ValueError(f"{path}: expected a dynamic or {INPUT_SIZE}x{INPUT_SIZE} input, got {model_input.shape}")
        self.output_names = [output.name for output in self.session.get_outputs()]
        if len(self.output_names) != 3 * len(FEATURE_STRIDES):
            raise ValueError(
                f"{path} is not an SCRFD model with keypoints: expected 9 outputs, found {len(self.output_names)}"
            )
        self.anchors = [anchor_centres(INPUT_SIZE, stride) for stride in FEATURE_STRIDES]
        self._scratch = threading.local()

    def detect(self, frame: Frame) -> list[Face]:
        blob, scale = self.letterbox(frame)
        outputs = self.session.run(self.output_names, {self.input_name: blob})
        boxes, points, scores = self.decode(outputs)
        keep = non_maximum_suppression(boxes, scores, NMS_THRESHOLD)
        return [Face(box=boxes[i] / scale, landmarks_5=points[i] / scale, score=float(scores[i])) for i in keep]

    def letterbox(self, frame: Frame) -> tuple[np.ndarray, float]:
        """The NCHW RGB input blob (aspect kept, padded bottom/right with black) and the resize scale.

        The blob is this thread's reusable buffer, valid until the thread's next call: a fresh
        5 MB array per frame costs more in page faults than filling it. Its padding is painted
        only when the image's size changes, so a stream pays for its pixels alone.
        """
        h, w = frame.shape[:2]
        scale = min(INPUT_SIZE / h, INPUT_SIZE / w)
        new_w, new_h = min(round(w * scale), INPUT_SIZE), min(round(h * scale), INPUT_SIZE)
        resized = frame
        if (new_w, new_h) != (w, h):
            resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        scratch = self._scratch
        if getattr(scratch, "size", None) != (new_w, new_h):
            scratch.blob = np.full((1, 3, INPUT_SIZE, INPUT_SIZE), -INPUT_MEAN / INPUT_STD, np.float32)  # black
            scratch.size = (new_w, new_h)
        return rgb_blob(resized, INPUT_MEAN, INPUT_STD, out=scratch.blob), scale

    def decode(self, outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (N x 4), keypoints (N x 5 x 2) and scores (N) above the threshold, in input pixels."""
        count = len(FEATURE_STRIDES)
        boxes, points, scores = [], [], []
        for level, (stride, centres) in enumerate(zip(FEATURE_STRIDES, self.anchors)):
            level_scores = outputs[level].reshape(-1)
            hits = np.flatnonzero(level_scores >= SCORE_THRESHOLD)
            distances = outputs[level + count].reshape(-1, 4)[hits] * stride
            offsets = outputs[level + 2 * count].reshape(-1, 5, 2)[hits] * stride
            origin = centres[hits]
            boxes.append(np.concatenate([origin - distances[:, :2], origin + distances[:, 2:]], axis=1))
            points.append(origin[:, None, :] + offsets)
            scores.append(level_scores[hits])
        return (
            np.concatenate(boxes).astype(np.float32),
            np.concatenate(points).astype(np.float32),
            np.concatenate(scores).astype(np.float32),
        )
