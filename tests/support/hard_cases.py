"""Hard cases built from the project's own photos, and the numbers that say whether a swap got them right.

Synthetic defects on a source (a hat brim or a fringe across the forehead, blue irises, a tiny
face), awkward targets (a turned head, a face near the edge), a composed group photo, and the
quality measures that `bench/quality.py` prints and the tests assert on: the change in a ring
just outside the target's outline, and how much darker a band across the output forehead is.
"""

from __future__ import annotations

import cv2
import numpy as np

from plasticvision.geometry.outlines import face_outline
from plasticvision.types import Face, Frame

BRIM_BGR = (28, 34, 40)  # a dark felt hat
HAIR_BGR = (20, 32, 52)  # dark brown hair
IRIS_BGR = (235, 160, 60)  # light blue


def forehead_box(face: Face) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 of the forehead: between the brows' ends, from the outline's top to the brows."""
    points = face.landmarks_68
    outline = face_outline(points)
    brows = points[17:27]
    x0, x1 = int(brows[:, 0].min()), int(brows[:, 0].max())
    y0, y1 = int(outline[:, 1].min()), int(brows[:, 1].min())
    return x0, y0, x1, y1


def with_hat_brim(image: Frame, face: Face) -> Frame:
    """A dark brim across the whole forehead (and past the face on both sides), a little above the brows."""
    out = image.copy()
    x0, y0, x1, y1 = forehead_box(face)
    width = x1 - x0
    top = max(y0 - (y1 - y0), 0)
    bottom = y1 - int(0.25 * (y1 - y0))
    cv2.rectangle(out, (x0 - width // 3, top), (x1 + width // 3, bottom), BRIM_BGR, -1)
    noise = np.random.default_rng(1).normal(0, 6, (bottom - top, out.shape[1], 3))
    band = out[top:bottom].astype(np.float32)
    inside = np.all(out[top:bottom] == BRIM_BGR, axis=2)
    band[inside] += noise[inside]
    out[top:bottom] = np.clip(band, 0, 255).astype(np.uint8)
    return out


def with_fringe(image: Frame, face: Face) -> Frame:
    """Hair hanging over the forehead down to just above the brows, with a ragged lower edge."""
    out = image.copy()
    x0, y0, x1, y1 = forehead_box(face)
    rng = np.random.default_rng(2)
    height = y1 - y0
    for x in range(x0 - 10, x1 + 10, 3):
        length = int(height * rng.uniform(0.75, 0.95))
        shade = np.array(HAIR_BGR) + rng.integers(-10, 10, 3)
        cv2.line(out, (x, max(y0 - height, 0)), (x + int(rng.integers(-4, 5)), y0 + length), shade.tolist(), 4)
    return out


def with_blue_irises(image: Frame, face: Face) -> Frame:
    """Light-blue irises painted into both eyes (inside the eyelids)."""
    out = image.copy()
    points = face.landmarks_68
    for eye in (points[36:42], points[42:48]):
        inside = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(inside, [eye.astype(np.int32)], 1)
        disc = np.zeros_like(inside)
        radius = max(int((eye[:, 1].max() - eye[:, 1].min()) * 0.75), 2)
        centre = eye.mean(axis=0).astype(int)
        cv2.circle(disc, (int(centre[0]), int(centre[1])), radius, 1, -1)
        out[(inside & disc).astype(bool)] = IRIS_BGR
    return out


def turned(image: Frame, amount: float = 0.28) -> Frame:
    """A yaw-like turn: the image's left side squeezed in perspective (the head looks to one side)."""
    h, w = image.shape[:2]
    squeeze = amount * h / 2
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    moved = np.float32([[w * amount, squeeze], [w, 0], [w, h], [w * amount, h - squeeze]])
    matrix = cv2.getPerspectiveTransform(corners, moved)
    return cv2.warpPerspective(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)


def offset(image: Frame, dx: int) -> Frame:
    """The image shifted sideways (wrapping round), so the face sits off centre against other background."""
    return np.ascontiguousarray(np.roll(image, dx, axis=1))


def small(image: Frame, face: Face, face_px: int) -> Frame:
    """The image scaled so the face is about `face_px` wide, JPEG-compressed as a small upload would be."""
    scale = face_px / face.width
    tiny = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", tiny, [cv2.IMWRITE_JPEG_QUALITY, 60])
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)


def rotated(image: Frame, degrees: float) -> Frame:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)


def group(portrait: Frame, other: Frame) -> tuple[Frame, int]:
    """Six people on one 1200x520 canvas: sizes, mirror images, tilts and a turned head. Returns (frame, 6)."""
    canvas = np.full((520, 1200, 3), (96, 112, 124), np.uint8)
    tiles = [
        cv2.resize(portrait, (300, 300), interpolation=cv2.INTER_AREA),
        cv2.resize(np.ascontiguousarray(portrait[:, ::-1]), (220, 220), interpolation=cv2.INTER_AREA),
        cv2.resize(rotated(portrait, 22), (260, 260), interpolation=cv2.INTER_AREA),
        cv2.resize(other, (170, 170), interpolation=cv2.INTER_CUBIC),
        cv2.resize(turned(portrait, 0.22), (240, 240), interpolation=cv2.INTER_AREA),
        cv2.resize(rotated(np.ascontiguousarray(other[:, ::-1]), -18), (150, 150), interpolation=cv2.INTER_CUBIC),
    ]
    spots = [(10, 20), (330, 40), (570, 200), (850, 30), (850, 260), (330, 330)]
    for tile, (x, y) in zip(tiles, spots):
        canvas[y : y + tile.shape[0], x : x + tile.shape[1]] = tile
    return canvas, len(tiles)


def ring_outside(face: Face, shape: tuple[int, ...]) -> np.ndarray:
    """A band just outside the face's outline (jaw and forehead arc), about a tenth of the face wide."""
    outline = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(outline, [np.round(face_outline(face.landmarks_68)).astype(np.int32)], 1)
    gap = max(int(face.width / 40), 1)
    width = max(int(face.width / 10), 2)
    near = cv2.dilate(outline, np.ones((2 * gap + 1, 2 * gap + 1), np.uint8))
    far = cv2.dilate(outline, np.ones((2 * (gap + width) + 1,) * 2, np.uint8))
    return (far > 0) & (near == 0)


def ring_change(before: Frame, after: Frame, face: Face) -> float:
    """Mean absolute grey-level change in the ring just outside the target's outline (0 = untouched)."""
    ring = ring_outside(face, before.shape)
    grey_before = cv2.cvtColor(before, cv2.COLOR_BGR2GRAY).astype(np.float32)
    grey_after = cv2.cvtColor(after, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float(np.abs(grey_after - grey_before)[ring].mean())


def forehead_band(before: Frame, after: Frame, face: Face) -> float:
    """How much darker the darkest band across the output forehead got than the face as a whole.

    Row by row over the forehead (stopping short of the brows), the output's median grey
    level minus the target's; the score is how far the lowest row falls below the median
    change over the middle of the face (eyes to mouth), which is the swap's overall tone
    shift. 0 = no band (a forehead that got lighter, e.g. the target's own hair line
    replaced by skin, also scores 0); a dark brim or fringe carried over shows as tens.
    """
    x0, y0, x1, y1 = forehead_box(face)
    y1 = max(y1 - int(0.04 * face.height), y0 + 3)
    grey_before = cv2.cvtColor(before, cv2.COLOR_BGR2GRAY).astype(np.float32)
    grey_after = cv2.cvtColor(after, cv2.COLOR_BGR2GRAY).astype(np.float32)
    change = grey_after - grey_before
    rows = np.median(change[y0:y1, x0:x1], axis=1)
    smooth = np.convolve(rows, np.ones(3) / 3, mode="valid") if len(rows) >= 3 else rows
    points = face.landmarks_68
    mx0, mx1 = int(points[36, 0]), int(points[45, 0])
    my0, my1 = int(points[36:48, 1].max()), int(points[48:60, 1].min())
    overall = float(np.median(change[my0:my1, mx0:mx1])) if my1 > my0 and mx1 > mx0 else 0.0
    return max(overall - float(smooth.min()), 0.0)


def dark_share(before: Frame, after: Frame, face: Face, level: int = 70) -> float:
    """The share of forehead pixels that are darker than `level` in the output but were not in the target."""
    x0, y0, x1, y1 = forehead_box(face)
    grey_before = cv2.cvtColor(before[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    grey_after = cv2.cvtColor(after[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    return float(((grey_after < level) & (grey_before >= level)).mean())


def eye_tint(before: Frame, after: Frame, face: Face) -> float:
    """How much bluer (LAB b*, lower = bluer) the eye regions got: eyes and sockets around them."""
    points = face.landmarks_68
    region = np.zeros(before.shape[:2], np.uint8)
    for eye in (points[36:42], points[42:48]):
        centre = eye.mean(axis=0)
        grown = (eye - centre) * 1.8 + centre
        cv2.fillPoly(region, [np.round(grown).astype(np.int32)], 1)
    inside = region.astype(bool)
    b_before = cv2.cvtColor(before, cv2.COLOR_BGR2LAB)[..., 2].astype(np.float32)[inside]
    b_after = cv2.cvtColor(after, cv2.COLOR_BGR2LAB)[..., 2].astype(np.float32)[inside]
    return float(b_before.mean() - b_after.mean())
