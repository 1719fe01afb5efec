"""Helpers for identity checks: embeddings with the engine's own recognizer, and composed scenes."""

from __future__ import annotations

import cv2
import numpy as np

from plasticvision import FaceSwapper
from plasticvision.types import Face


def largest_face(swapper: FaceSwapper, frame: np.ndarray) -> Face:
    faces = swapper.detect(frame)
    if not faces:
        raise AssertionError("no face detected where one was expected")
    return faces[0]


def identity(swapper: FaceSwapper, frame: np.ndarray, face: Face | None = None) -> np.ndarray:
    """The engine's own identity vector for the largest (or the given) face."""
    return swapper.engine.embed(frame, face or largest_face(swapper, frame))


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def on_canvas(image: np.ndarray, size: int, at: tuple[int, int], shape=(480, 640)) -> np.ndarray:
    """Place a resized image on a plain 640x480 background, as a webcam frame would frame it."""
    canvas = np.full((*shape, 3), (90, 110, 120), np.uint8)
    x, y = at
    canvas[y : y + size, x : x + size] = cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)
    return canvas
