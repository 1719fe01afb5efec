"""The post-processing steps, shared by every engine: pure functions of one face layer.

Each step takes a `FaceLayer` and the settings and returns the layer changed; `STEPS` is
their order. They only touch the face's region, never the whole frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from collections.abc import Callable

import cv2
import numpy as np

from plasticvision.pipeline.masks import feather, mouth_polygon, mouth_window
from plasticvision.settings import Settings
from plasticvision.types import Face, Frame, Mask


@dataclass(frozen=True)
class FaceLayer:
    """One swapped face on its way into the frame, all arrays the size of its region."""

    target: Frame  # the original pixels of the region
    swapped: Frame  # the engine's render of the source identity there
    mask: Mask  # how much of `swapped` shows, 0..1
    face: Face  # the target face, in region coordinates


Step = Callable[[FaceLayer, Settings], FaceLayer]


def face_size(face: Face) -> float:
    return max(face.width, face.height, 1.0)


def transfer_lab_colour(layer: FaceLayer, settings: Settings) -> FaceLayer:
    """Match the swapped skin's LAB mean and spread to the target's, so lighting and tone agree."""
    inside = (layer.mask > 0.5).view(np.uint8)
    if cv2.countNonZero(inside) < 16:
        return layer
    src = cv2.cvtColor(layer.swapped, cv2.COLOR_BGR2LAB)
    # Masked statistics in one pass each, without copying the face's pixels out; the target
    # is only needed (and converted) where the mask is.
    x, y, w, h = cv2.boundingRect(inside)
    dst = cv2.cvtColor(layer.target[y : y + h, x : x + w], cv2.COLOR_BGR2LAB)
    src_mean, src_std = (v.reshape(3) for v in cv2.meanStdDev(src, mask=inside))
    dst_mean, dst_std = (v.reshape(3) for v in cv2.meanStdDev(dst, mask=inside[y : y + h, x : x + w]))
    gain = np.clip((dst_std + 1e-3) / (src_std + 1e-3), 0.5, 3.0)
    # One lookup table per channel, applied in one call: cheaper than float maths over every pixel.
    levels = np.arange(256, dtype=np.float32)[:, None]
    luts = np.clip((levels - src_mean) * gain + dst_mean, 0, 255).astype(np.uint8)
    recoloured = cv2.cvtColor(cv2.LUT(src, luts.reshape(256, 1, 3)), cv2.COLOR_LAB2BGR)
    return replace(layer, swapped=recoloured)


def sharpen(layer: FaceLayer, settings: Settings) -> FaceLayer:
    """Unsharp mask: 0 = untouched, 1 = strong. Warping blurs; this brings the edges back."""
    if settings.sharpness <= 0:
        return layer
    sigma = max(face_size(layer.face) / 160.0, 0.8)
    blurred = cv2.GaussianBlur(layer.swapped, (0, 0), sigma)
    amount = 1.5 * settings.sharpness
    sharp = cv2.addWeighted(layer.swapped, 1 + amount, blurred, -amount, 0)
    return replace(layer, swapped=sharp)


def keep_mouth(layer: FaceLayer, settings: Settings) -> FaceLayer:
    """Cut the target's lips out of the mask so its own mouth moves in the output (lip sync)."""
    if not settings.mouth_mask:
        return layer
    radius = max(int(face_size(layer.face) / 30), 2) * 2 + 1
    window = mouth_window(mouth_polygon(layer.face), radius, layer.mask.shape)
    if window is None:
        return layer
    (x0, y0), polygon = window.corner, window.polygon
    mouth = np.zeros((window.height, window.width), np.float32)
    cv2.fillPoly(mouth, [polygon], 1.0)
    mouth = cv2.GaussianBlur(mouth, (radius, radius), 0)
    mask = layer.mask.copy()
    cut = mask[y0 : y0 + window.height, x0 : x0 + window.width]
    cut *= 1.0 - mouth
    return replace(layer, mask=mask)


def feather_edges(layer: FaceLayer, settings: Settings) -> FaceLayer:
    """Soften the face outline over a width that follows the face size."""
    return replace(layer, mask=feather(layer.mask, int(face_size(layer.face) / 12)))


def blend_opacity(layer: FaceLayer, settings: Settings) -> FaceLayer:
    """Composite: the result replaces `swapped`, with `mask` scaled by the opacity."""
    alpha = layer.mask * settings.opacity if settings.opacity < 1.0 else layer.mask
    blended = cv2.blendLinear(layer.swapped, layer.target, alpha, 1.0 - alpha)
    return replace(layer, swapped=blended)


STEPS: tuple[tuple[str, Step], ...] = (
    ("colour", transfer_lab_colour),
    ("sharpen", sharpen),
    ("mouth", keep_mouth),
    ("feather", feather_edges),
    ("blend", blend_opacity),
)
