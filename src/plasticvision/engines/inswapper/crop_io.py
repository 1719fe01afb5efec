"""What goes into a swapper or enhancer and what comes out, per model spec, as FaceFusion 3.8.1 does it.

Pure functions, each named after its FaceFusion counterpart in
`processors/modules/face_swapper/core.py` and `face_enhancer/core.py`, so each can be checked
against FaceFusion's own arithmetic: `prepare_crop_frame` (BGR crop to the model's normalised
RGB NCHW tensor), `normalize_crop_frame` (the model's output back to a BGR crop) and
`prepare_source_embedding` (how each swapper takes the source identity).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from plasticvision.engines.inswapper.blob import RGB_FROM_BGR, bgr_image, rgb_blob
from plasticvision.models.catalog import ModelSpec
from plasticvision.types import Crop, Embedding



def prepare_crop_frame(crop: Crop, spec: ModelSpec) -> np.ndarray:
    """`(crop[:, :, ::-1] / 255 - mean) / std` as a 1x3xHxW float32 tensor (FaceFusion's `prepare_crop_frame`)."""
    return rgb_blob(crop, tuple(255.0 * m for m in spec.mean), tuple(255.0 * s for s in spec.std))


def normalize_crop_frame(output: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """A swapper's 3xHxW RGB output as an HxWx3 float32 BGR crop in 0..255 (FaceFusion's `normalize_crop_frame`).

    Only models trained on normalised targets (`denormalise`: hyperswap) are mapped back by
    `* std + mean`; inswapper and simswap already answer in [0, 1]. Kept as floats, as FaceFusion
    keeps them until the paste-back, so the parser sees the same values. `clip(0, 1) * 255` is
    done as one scale per plane and a clip to [0, 255] (OpenCV; a third of NumPy's cost).
    """
    scale = 255 * np.asarray(spec.std if spec.denormalise else (1.0, 1.0, 1.0))
    shift = 255 * np.asarray(spec.mean if spec.denormalise else (0.0, 0.0, 0.0))
    planes = [cv2.addWeighted(output[c], float(scale[c]), output[c], 0.0, float(shift[c]), dtype=cv2.CV_32F)
              for c in RGB_FROM_BGR]
    crop = cv2.merge(planes)
    return np.clip(crop, 0, 255, out=crop)


def normalize_enhanced_frame(output: np.ndarray) -> Crop:
    """An enhancer's [-1, 1] RGB output as a BGR uint8 crop: clip, `(x + 1) / 2 * 255`, rounded (face_enhancer)."""
    return bgr_image(output[None] if output.ndim == 3 else output, 127.5, 127.5)


def l2_normalised(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def prepare_source_embedding(
    raw_embeddings: Sequence[Embedding],
    spec: ModelSpec,
    *,
    emap: np.ndarray | None = None,
    convert: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """The 1x512 float32 `source` input for one or more source faces (FaceFusion's `prepare_source_embedding`).

    `raw_embeddings` are the recognizer's raw outputs; several sources are averaged first as
    FaceFusion's `average_face_identity` does (the mean of the raw embeddings, and separately the
    mean of the normalised ones, not renormalised). Then per `spec.identity`:
    `emap`: mean_raw @ emap / |mean_raw|; `embedding_norm`: the mean normalised embedding;
    `converter`: `convert(mean_raw)` (a 1x512 -> 1x512 model), normalised.
    FaceFusion's `balance_source_embedding` follows; at its default `face_swapper_weight` (0.5)
    the target's share is `interp(0.5, [0, 1], [0.35, -0.35])` = 0, so it is the identity here.
    """
    raws = np.asarray(raw_embeddings, np.float32).reshape(len(raw_embeddings), -1)
    embedding = raws.mean(axis=0)
    if spec.identity == "emap":
        if emap is None:
            raise ValueError(f"{spec.name} needs its emap")
        prepared = np.dot(embedding.reshape(1, -1), emap) / np.linalg.norm(embedding)
    elif spec.identity == "embedding_norm":
        prepared = np.mean([l2_normalised(raw) for raw in raws], axis=0)
    elif spec.identity == "converter":
        if convert is None:
            raise ValueError(f"{spec.name} needs its embedding converter {spec.converter}")
        prepared = l2_normalised(np.asarray(convert(embedding.reshape(-1, 512)), np.float32).ravel())
    else:
        raise ValueError(f"{spec.name} is not a swapper that takes an embedding")
    return prepared.reshape(1, -1).astype(np.float32)

