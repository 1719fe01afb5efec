"""`ArcFaceRecognizer`: the identity embedding of a face (buffalo_l `w600k_r50.onnx`, ArcFace R50 on WebFace600K)."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Sequence

import numpy as np

from plasticvision.engines.inswapper.blob import rgb_blob
from plasticvision.engines.inswapper.providers import ProviderEntry, create_session
from plasticvision.geometry.align import arcface_template, estimate_similarity, warp_crop
from plasticvision.types import Embedding, Face, Frame

INPUT_SIZE = 112
INPUT_MEAN = 127.5
INPUT_STD = 127.5


def l2_normalise(vector: np.ndarray) -> np.ndarray:
    """The vector scaled to unit length (a zero vector stays zero rather than becoming NaN)."""
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


class ArcFaceRecognizer:
    """Aligns the face to the ArcFace template and returns its 512-d embedding (L2-normalised by `embed`)."""

    def __init__(self, path: str | Path, providers: Sequence[ProviderEntry]) -> None:
        self.session = create_session(path, providers)
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.template = arcface_template(INPUT_SIZE)

    def embed(self, frame: Frame, face: Face) -> Embedding:
        return l2_normalise(self.embed_raw(frame, face))

    def embed_raw(self, frame: Frame, face: Face) -> Embedding:
        """The network's output as it is: FaceFusion's `embedding` (the swappers' identity feeds start from it)."""
        crop = warp_crop(frame, estimate_similarity(face.landmarks_5, self.template), INPUT_SIZE)
        (output,) = self.session.run([self.output_name], {self.input_name: rgb_blob(crop, INPUT_MEAN, INPUT_STD)})
        return output.reshape(-1).astype(np.float32)
