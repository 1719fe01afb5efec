"""Crop-space face masks as FaceFusion 3.8.1's `face_masker.py` makes them: box, occlusion (XSeg), region (BiSeNet).

Each step is a pure function named after FaceFusion's, so it can be checked on its own:
the model inputs (`occluder_input`, `parser_input`), the post-processing of the model outputs
(`occlusion_mask`, `region_mask`) and the box (`create_box_mask`). The masks are combined by
`numpy.minimum` in crop space and warped back with the crop (`combine_masks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np

from plasticvision.engines.inswapper.blob import rgb_blob
from plasticvision.models.catalog import IMAGENET_MEAN, IMAGENET_STD
from plasticvision.types import Crop, Mask

FACE_MASK_REGIONS: dict[str, int] = {
    "skin": 1, "left-eyebrow": 2, "right-eyebrow": 3, "left-eye": 4, "right-eye": 5, "glasses": 6,
    "nose": 10, "mouth": 11, "upper-lip": 12, "lower-lip": 13,
}
"""BiSeNet's CelebAMask-HQ classes FaceFusion offers (`facefusion.choices.face_mask_region_set`)."""
MASK_BLUR = 0.3  # FaceFusion's default `face_mask_blur`
MASK_PADDING = (0, 0, 0, 0)  # FaceFusion's default `face_mask_padding`: top, right, bottom, left, in %
SOFTEN_SIGMA = 5  # the Gaussian that occlusion and region masks get before their [0.5, 1] stretch


@lru_cache(maxsize=16)
def create_box_mask(size: int, blur: float = MASK_BLUR, padding: tuple[int, int, int, int] = MASK_PADDING) -> Mask:
    """FaceFusion's `create_box_mask` for a square crop: 1 inside a padded border, blurred towards the edges.

    It depends only on the crop size and the options, so it is computed once per size (read-only).
    """
    blur_amount = int(size * 0.5 * blur)
    blur_area = max(blur_amount // 2, 1)
    mask = np.ones((size, size), np.float32)
    mask[: max(blur_area, int(size * padding[0] / 100)), :] = 0
    mask[-max(blur_area, int(size * padding[2] / 100)):, :] = 0
    mask[:, : max(blur_area, int(size * padding[3] / 100))] = 0
    mask[:, -max(blur_area, int(size * padding[1] / 100)):] = 0
    if blur_amount > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), blur_amount * 0.25)
    mask.flags.writeable = False
    return mask


def soften(mask: Mask) -> Mask:
    """FaceFusion's finish for model masks: blur (sigma 5), then stretch [0.5, 1] to [0, 1], so a
    mask's edge moves half a blur inwards and fades over the other half."""
    return (cv2.GaussianBlur(mask.clip(0, 1), (0, 0), SOFTEN_SIGMA).clip(0.5, 1) - 0.5) * 2


def occluder_input(crop: Crop, size: int) -> np.ndarray:
    """XSeg's input: the target crop resized to `size`, BGR, /255, 1xHxWx3 float32 (NHWC)."""
    resized = cv2.resize(crop, (size, size))
    return np.expand_dims(resized, axis=0).astype(np.float32) / 255.0


def occlusion_mask(outputs: Sequence[np.ndarray], crop_size: int) -> Mask:
    """The occlusion mask from one or more XSeg outputs (each HxWx1 or HxW, 1 = face visible):
    clipped, resized to the crop, their minimum, softened (FaceFusion's `create_occlusion_mask`)."""
    masks = [
        cv2.resize(np.asarray(output, np.float32).clip(0, 1).astype(np.float32), (crop_size, crop_size))
        for output in outputs
    ]
    return soften(np.minimum.reduce(masks))


def parser_input(crop: np.ndarray, size: int) -> np.ndarray:
    """BiSeNet's input: the (swapped) crop resized to `size`, RGB, /255, ImageNet mean/std, 1x3xHxW float32.

    FaceFusion's `(x[:, :, ::-1] / 255 - mean) / std` in one OpenCV pass per plane, straight into
    a contiguous tensor (the NumPy form costs ten times as much at 512 px).
    """
    resized = cv2.resize(crop, (size, size))
    return rgb_blob(resized, tuple(255.0 * m for m in IMAGENET_MEAN), tuple(255.0 * s for s in IMAGENET_STD))


def region_mask(logits: np.ndarray, regions: Sequence[str], crop_size: int) -> Mask:
    """1 where BiSeNet's most likely class (of its CxHxW `logits`) is one of `regions`, resized to the
    crop and softened (FaceFusion's `create_region_mask`).

    FaceFusion's `isin(argmax(0), classes)` is computed as "a chosen class reaches the maximum":
    the same pixels (up to exact ties between float logits), in a tenth of the time.
    """
    classes = [FACE_MASK_REGIONS[region] for region in regions]
    chosen = cv2.compare(plane_max(logits, classes), plane_max(logits, range(len(logits))), cv2.CMP_GE)
    return soften(cv2.resize((chosen / 255).astype(np.float32), (crop_size, crop_size)))


def plane_max(planes: np.ndarray, indices: Sequence[int] | range) -> np.ndarray:
    """The pixel-wise maximum of the chosen planes of a CxHxW array (OpenCV: no CxHxW temporary)."""
    first, *rest = indices
    best = np.array(planes[first], np.float32)
    for index in rest:
        cv2.max(best, planes[index], dst=best)
    return best


def combine_masks(masks: Sequence[Mask]) -> Mask:
    """FaceFusion's `numpy.minimum.reduce(crop_masks).clip(0, 1)`: every mask may only take away."""
    return np.minimum.reduce([np.asarray(mask, np.float32) for mask in masks]).clip(0, 1)
