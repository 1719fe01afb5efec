"""Box geometry shared by the engines and the tracker: boxes of points, overlap, and moving a
box along with its landmarks."""

from __future__ import annotations

import numpy as np

from plasticvision.types import Points


def points_box(points: Points) -> np.ndarray:
    """The bounding box (x0, y0, x1, y1) of a point set."""
    return np.concatenate([points.min(axis=0), points.max(axis=0)]).astype(np.float32)


def reframe(box: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """`box` moved and scaled as its landmarks' box went from `old` to `new`.

    Keeps a detector's framing of a face (how its box sits around the landmarks) while the
    landmarks are followed by other means.
    """
    old_size = np.tile(np.maximum(old[2:] - old[:2], 1.0), 2)
    new_size = np.tile(new[2:] - new[:2], 2)
    return (np.tile(new[:2], 2) + (box - np.tile(old[:2], 2)) / old_size * new_size).astype(np.float32)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(float(w), 0.0) * max(float(h), 0.0)
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0
