"""The post-processing steps, shared by every engine: pure functions of one face layer.

Each step takes a `FaceLayer` and the settings and returns the layer changed; `STEPS` is
their order. They only touch the face's region, never the whole frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from collections.abc import Callable

import cv2
import numpy as np

from plasticvision.pipeline.masks import eye_polygons, face_size, feather, features_mask, grown, mouth_polygon, mouth_window
from plasticvision.settings import Settings
from plasticvision.types import Face, Frame, Mask


@dataclass(frozen=True)
class FaceLayer:
    """One swapped face on its way into the frame, all arrays the size of its region."""

    target: Frame  # the original pixels of the region
    swapped: Frame  # the engine's render of the source identity there
    mask: Mask  # how much of `swapped` shows, 0..1
    face: Face  # the target face, in region coordinates
    detail: float = 1.0  # the render's real detail relative to the target face (see `Rendered`)
    face_mask: Mask | None = None  # box/occlusion/region masks, applied by minimum after feathering


Step = Callable[[FaceLayer, Settings], FaceLayer]

EYE_CHROMA_KEPT = 0.3  # how much of the source eyes' own colour contrast stays (iris against white)
MIN_STAT_PIXELS = 16
EYE_GROWTH = 1.3  # the openings grown about their centres: the swap's eyes sit where the source's proportions put them
SMOOTH_BELOW_DETAIL = 0.5  # renders from sources under half the target face's size get smoothed
SMOOTH_SIGMA = 0.35  # in source pixels (divided by the detail: in target pixels)


def lab_luts(src_mean: np.ndarray, src_std: np.ndarray, dst_mean: np.ndarray, dst_std: np.ndarray) -> np.ndarray:
    """Per-channel lookup tables moving a mean and spread onto another (one `cv2.LUT` call)."""
    gain = np.clip((dst_std + 1e-3) / (src_std + 1e-3), 0.5, 3.0)
    levels = np.arange(256, dtype=np.float32)[:, None]
    return np.clip((levels - src_mean) * gain + dst_mean, 0, 255).astype(np.uint8).reshape(256, 1, 3)


def transfer_lab_colour(layer: FaceLayer, settings: Settings) -> FaceLayer:
    """Match the swapped skin's LAB mean and spread to the target's, so lighting and tone agree.

    The statistics come from skin only (eyes, brows and lips left out on both sides), so a
    source's blue irises or dark brows do not shift its skin tone; the eyes themselves get
    their own transfer (`recolour_eyes`), so their whites are not pulled towards skin tone.
    """
    inside = (layer.mask > 0.5).view(np.uint8)
    if layer.face_mask is not None:  # glasses, a hand: neither side's statistics may count them
        inside = cv2.bitwise_and(inside, (layer.face_mask > 0.5).view(np.uint8))
    if cv2.countNonZero(inside) < MIN_STAT_PIXELS:
        return layer
    # Everything happens inside the mask's box (the rest of the region is blended at weight 0),
    # with masked statistics in one pass each, without copying the face's pixels out.
    x, y, w, h = cv2.boundingRect(inside)
    box = (slice(y, y + h), slice(x, x + w))
    face = layer.face.translated(-x, -y)
    skin = cv2.subtract(inside[box], features_mask(face, (h, w)))
    if cv2.countNonZero(skin) < MIN_STAT_PIXELS:
        skin = inside[box]
    src = cv2.cvtColor(layer.swapped[box], cv2.COLOR_BGR2LAB)
    dst = cv2.cvtColor(layer.target[box], cv2.COLOR_BGR2LAB)
    src_mean, src_std = (v.reshape(3) for v in cv2.meanStdDev(src, mask=skin))
    dst_mean, dst_std = (v.reshape(3) for v in cv2.meanStdDev(dst, mask=skin))
    luts = lab_luts(src_mean, src_std, dst_mean, dst_std)
    recoloured = layer.swapped.copy()
    recoloured[box] = cv2.cvtColor(cv2.LUT(src, luts), cv2.COLOR_LAB2BGR)
    recolour_eyes(face, dst, src, luts, recoloured[box], inside[box])
    return replace(layer, swapped=recoloured)


def recolour_eyes(
    face: Face, dst: np.ndarray, src: np.ndarray, skin_luts: np.ndarray, recoloured: Frame, inside: np.ndarray
) -> None:
    """Give the eye openings the target eyes' colour, keeping a little of the source's own
    iris-against-white contrast, so a light-blue source iris or warm whites do not tint the
    target's eyes; lightness follows the skin's transfer (the eyes' contrast is much of the
    identity). `dst` and `src` are the target's and the swap's LAB pixels; works in place on
    `recoloured`, in one window around both eyes. The target's colour is the median of its eye
    pixels inside the mask (`inside`, 1 where the swap shows): a lens reflection or a frame
    crossing the opening must not tint the eyes."""
    h, w = recoloured.shape[:2]
    polygons = [np.round(grown(eye, EYE_GROWTH)).astype(np.int32) for eye in eye_polygons(face)]
    x, y, bw, bh = cv2.boundingRect(np.vstack(polygons))
    pad = max(int(bh * 0.6), 2)
    x0, y0, x1, y1 = max(x - pad, 0), max(y - pad, 0), min(x + bw + pad, w), min(y + bh + pad, h)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return
    openings = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(openings, [p - (x0, y0) for p in polygons], 1)
    if cv2.countNonZero(openings) < MIN_STAT_PIXELS:
        return
    eye_src = src[y0:y1, x0:x1]
    src_mean, src_std = (v.reshape(3) for v in cv2.meanStdDev(eye_src, mask=openings))
    seen = cv2.bitwise_and(openings, inside[y0:y1, x0:x1])
    eye_dst = dst[y0:y1, x0:x1][(seen if cv2.countNonZero(seen) >= MIN_STAT_PIXELS else openings) > 0]
    dst_middle = np.median(eye_dst, axis=0).astype(np.float32)
    luts = lab_luts(src_mean, src_std, dst_middle, src_std * EYE_CHROMA_KEPT)
    luts[:, :, 0] = skin_luts[:, :, 0]
    eye_bgr = cv2.cvtColor(cv2.LUT(eye_src, luts), cv2.COLOR_LAB2BGR)
    blur = max(pad // 2, 1) * 2 + 1
    weight = cv2.GaussianBlur(openings.astype(np.float32), (blur, blur), 0)
    window = recoloured[y0:y1, x0:x1]
    window[:] = cv2.blendLinear(eye_bgr, window, weight, 1.0 - weight)


def sharpen(layer: FaceLayer, settings: Settings) -> FaceLayer:
    """Unsharp mask: 0 = untouched, 1 = strong. Warping blurs; this brings the edges back.

    Only as much as the render has real detail: a source photo much smaller than the target
    face was enlarged, and sharpening it would turn its JPEG noise into speckles, so such a
    render is sharpened less and, well below the target's resolution, smoothed at the scale
    of its own pixels instead (there is no finer detail in it to lose).
    """
    detail = min(max(layer.detail, 0.05), 1.0)
    if detail < SMOOTH_BELOW_DETAIL:
        layer = replace(layer, swapped=cv2.GaussianBlur(layer.swapped, (0, 0), SMOOTH_SIGMA / detail))
    if settings.sharpness <= 0:
        return layer
    sigma = max(face_size(layer.face) / 160.0, 0.8)
    blurred = cv2.GaussianBlur(layer.swapped, (0, 0), sigma)
    amount = 1.5 * settings.sharpness * detail**2
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
    """Soften the face outline over a width that follows the face size; then the soft face masks
    (already soft: they are not feathered again) may only take away from it."""
    mask = feather(layer.mask, int(face_size(layer.face) / 12))
    if layer.face_mask is not None:
        cv2.min(mask, layer.face_mask, dst=mask)
    return replace(layer, mask=mask)


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
