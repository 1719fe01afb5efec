"""dlib's ResNet face recognizer: a 128-d identity descriptor (distance < 0.6 = same person)."""

from __future__ import annotations

import threading

import cv2
import dlib
import numpy as np

from plasticvision.engines.dlib.model_files import RECOGNIZER, model_file
from plasticvision.types import Embedding, Face, Frame


class DlibRecognizer:
    """Shared by all sessions; dlib's network is not re-entrant, so calls take turns."""

    def __init__(self) -> None:
        self.model = dlib.face_recognition_model_v1(model_file(RECOGNIZER))
        self._lock = threading.Lock()

    def embed(self, frame: Frame, face: Face) -> Embedding:
        """The raw 128-d descriptor (unit-ish length by training; compare with Euclidean distance)."""
        if face.landmarks_68 is None:
            raise ValueError("the dlib recognizer needs 68 landmarks")
        rect = dlib.rectangle(*(int(round(v)) for v in face.box))
        shape = dlib.full_object_detection(rect, [dlib.point(int(x), int(y)) for x, y in face.landmarks_68])
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        with self._lock:
            return np.asarray(self.model.compute_face_descriptor(rgb, shape, 0), np.float32)
