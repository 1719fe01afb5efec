"""Landmark-mesh geometry: forehead points, the shape blend that carries identity, and the warp.

The warp is piecewise affine over a triangle mesh, done as one dense `cv2.remap` instead of
one `warpAffine` per triangle: a triangle-id raster says which affine map each output pixel
uses, and NumPy evaluates them all at once (on a half-resolution grid, see `warp_mesh`).
"""

from __future__ import annotations

import cv2
import numpy as np

from plasticvision.types import Points

JAW_68 = slice(0, 17)
BROWS_68 = slice(17, 27)
INNER_68 = slice(17, 48)  # brows, nose, eyes
MOUTH_68 = slice(48, 68)
CHIN_68 = 8
FOREHEAD_FROM_BROWS = (17, 19, 21, 22, 24, 26)
FOREHEAD_LIFT = np.array([0.16, 0.26, 0.30, 0.30, 0.26, 0.16], np.float32)

SHAPE_WEIGHT_INNER = 1.0  # brows, eyes and nose take the source's proportions
SHAPE_WEIGHT_MOUTH = 0.6  # the mouth less: the target's own lips are kept by the mouth mask
SHAPE_WEIGHT_JAW = 1.0  # the outline too: a face's width and chin are much of its identity


def with_forehead(points_68: Points) -> Points:
    """68 landmarks plus six forehead points above the brows, so the swap covers the forehead."""
    brows = points_68[BROWS_68].mean(axis=0)
    up = brows - points_68[CHIN_68]
    lifted = points_68[list(FOREHEAD_FROM_BROWS)] + FOREHEAD_LIFT[:, None] * up[None, :]
    return np.vstack([points_68, lifted]).astype(np.float32)


def triangulate(points: Points) -> np.ndarray:
    """Delaunay triangles as index triples into `points` (computed once per source)."""
    x0, y0 = points.min(axis=0) - 2
    x1, y1 = points.max(axis=0) + 2
    subdiv = cv2.Subdiv2D((int(x0), int(y0), int(x1 - x0) + 2, int(y1 - y0) + 2))
    for x, y in points:
        subdiv.insert((float(x), float(y)))
    lookup = {(round(float(x), 2), round(float(y), 2)): i for i, (x, y) in enumerate(points)}
    triangles = []
    for tri in subdiv.getTriangleList().reshape(-1, 3, 2):
        ids = [lookup.get((round(float(x), 2), round(float(y), 2))) for x, y in tri]
        if None not in ids and len(set(ids)) == 3:
            triangles.append(ids)
    return np.array(triangles, np.int32)


def blend_shape(source_68: Points, target_68: Points) -> Points:
    """Target pose, source proportions: the source landmarks aligned to the target by a
    similarity transform, then mixed in region by region (most in the inner face)."""
    matrix, _ = cv2.estimateAffinePartial2D(source_68, target_68, method=cv2.LMEDS)
    if matrix is None:
        return target_68.copy()
    aligned = source_68 @ matrix[:, :2].T + matrix[:, 2]
    weights = np.empty(68, np.float32)
    weights[JAW_68] = SHAPE_WEIGHT_JAW
    weights[INNER_68] = SHAPE_WEIGHT_INNER
    weights[MOUTH_68] = SHAPE_WEIGHT_MOUTH
    return (target_68 + weights[:, None] * (aligned - target_68)).astype(np.float32)


def hull_order(points: Points) -> np.ndarray:
    """Indices of the points on their convex hull, in order: the outline of a Delaunay mesh."""
    return cv2.convexHull(points.astype(np.float32), returnPoints=False).reshape(-1).astype(np.int32)


def triangle_affines(dst: Points, src: Points, triangles: np.ndarray) -> np.ndarray:
    """For each triangle, the 2x3 affine taking destination pixels back to source pixels.

    Closed form per triangle (edge vectors and a 2x2 inverse), all triangles at once;
    a degenerate (zero-area) triangle covers no pixel, so its map is left at its first vertex.
    """
    d = dst[triangles].astype(np.float64)  # T x 3 x 2
    s = src[triangles].astype(np.float64)
    d_edges = np.stack([d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]], axis=2)  # T x 2 x 2, edges as columns
    s_edges = np.stack([s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]], axis=2)
    det = d_edges[:, 0, 0] * d_edges[:, 1, 1] - d_edges[:, 0, 1] * d_edges[:, 1, 0]
    flat = np.abs(det) < 1e-9
    det[flat] = 1.0
    inverse = np.stack(
        [np.stack([d_edges[:, 1, 1], -d_edges[:, 0, 1]], 1), np.stack([-d_edges[:, 1, 0], d_edges[:, 0, 0]], 1)], 1
    ) / det[:, None, None]
    linear = s_edges @ inverse
    linear[flat] = 0.0
    shift = s[:, 0] - np.einsum("tij,tj->ti", linear, d[:, 0])
    return np.concatenate([linear, shift[:, :, None]], axis=2).astype(np.float32)


def warp_mesh(
    source: np.ndarray,
    src_points: Points,
    dst_points: Points,
    triangles: np.ndarray,
    outline: np.ndarray,
    size: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Warp `source` so its mesh lands on `dst_points` in an image of `size` (w, h).

    The remap coordinates are worked out on a half-resolution grid and upsampled: a
    piecewise-affine map is continuous and linear inside each triangle, so bilinear
    upsampling reproduces it exactly except within a pixel of a triangle edge, at a quarter
    of the cost. The triangle-id raster is grown outward by one cell (inner cells keep their own
    triangle) so pixels on the mesh's rim interpolate between valid coordinates. Returns the warped image and a uint8 coverage
    mask (255 inside the mesh outline, `outline` being the hull indices in order).
    """
    width, height = size
    small_w, small_h = (width + 1) // 2, (height + 1) // 2
    ids = np.zeros((small_h, small_w), np.uint16)
    # A half-res cell (i, j) stands for full-res pixel (2i + 0.5, 2j + 0.5) under cv2.resize's
    # pixel-centre convention; 4 fractional bits keep the triangle edges sub-pixel exact.
    dst_fixed = np.round((dst_points - 0.5) * 0.5 * 16).astype(np.int32)
    for index, tri in enumerate(triangles, start=1):
        cv2.fillConvexPoly(ids, dst_fixed[tri], index, cv2.LINE_8, 4)
    rim = cv2.dilate(ids, np.ones((3, 3), np.uint8))
    np.copyto(ids, rim, where=ids == 0)
    ys, xs = np.nonzero(ids)
    affines = triangle_affines(dst_points, src_points, triangles)
    chosen = affines[ids[ys, xs].astype(np.int32) - 1]  # N x 2 x 3
    xs_f, ys_f = xs.astype(np.float32) * 2 + 0.5, ys.astype(np.float32) * 2 + 0.5
    maps = np.full((small_h, small_w, 2), -1.0, np.float32)
    maps[ys, xs, 0] = chosen[:, 0, 0] * xs_f + chosen[:, 0, 1] * ys_f + chosen[:, 0, 2]
    maps[ys, xs, 1] = chosen[:, 1, 0] * xs_f + chosen[:, 1, 1] * ys_f + chosen[:, 1, 2]
    full = cv2.resize(maps, (small_w * 2, small_h * 2), interpolation=cv2.INTER_LINEAR)[:height, :width]
    warped = cv2.remap(source, full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(dst_points[outline]).astype(np.int32)], 255)
    return warped, mask
