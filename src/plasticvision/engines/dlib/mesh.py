"""Landmark-mesh geometry: forehead points, the shape blend that carries identity, and the warp.

The warp is piecewise affine over a triangle mesh, done as one dense `cv2.remap` instead of
one `warpAffine` per triangle: a triangle-id raster says which affine map each output pixel
uses, and NumPy evaluates them all at once (on a half-resolution grid, see `warp_mesh`).
"""

from __future__ import annotations

import cv2
import numpy as np

from plasticvision.geometry.align import estimate_similarity, transform_points
from plasticvision.geometry.outlines import JAW_68, forehead_points
from plasticvision.types import Points

INNER_68 = slice(17, 48)  # brows, nose, eyes
MOUTH_68 = slice(48, 68)

SHAPE_WEIGHT_INNER = 1.0  # brows, eyes and nose take the source's proportions
SHAPE_WEIGHT_MOUTH = 0.6  # the mouth less: the target's own lips are kept by the mouth mask
SHAPE_WEIGHT_JAW = 1.0  # the outline too: a face's width and chin are much of its identity


def with_forehead(points_68: Points) -> Points:
    """68 landmarks plus six forehead points above the brows, so the swap covers the forehead."""
    return np.vstack([points_68, forehead_points(points_68)]).astype(np.float32)


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
    similarity transform, then mixed in region by region (most in the inner face).

    The similarity is the closed-form least-squares one, not a random-sampling estimator
    (LMedS/RANSAC): those draw from OpenCV's RNG and refine iteratively, so the same landmarks
    could give a slightly different shape depending on the call history and OpenCV's release.
    """
    aligned = transform_points(source_68, estimate_similarity(source_68, target_68))
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


def affine_map(a: np.ndarray, b: np.ndarray, c: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """a * x + b * y + c per pixel, in place in `a` (no temporaries the size of the region)."""
    a *= xs
    b *= ys
    a += b
    a += c
    return a


def warp_mesh(
    source: np.ndarray,
    src_points: Points,
    dst_points: Points,
    triangles: np.ndarray,
    outline: np.ndarray,
    size: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Warp `source` (BGRA) so its mesh lands on `dst_points` in an image of `size` (w, h).

    Every pixel gets its own triangle's map at full resolution: maps worked out on a coarser
    grid and upsampled were measurably worse for identity (about +0.006 dlib distance: the
    lips and eyes fold, and a fold is where interpolated maps go wrong). Returns the warped
    BGR image and a uint8 coverage mask: 255 inside the mesh (`outline` being its hull in
    order), times the source's alpha (0 where its face is covered, and on its border, so
    out-of-photo pixels, which the border replicates, are not covered either). One 4-channel
    remap costs less than a 3-channel one (OpenCV vectorises 4 channels), alpha included.
    """
    width, height = size
    if len(triangles) > 255:
        raise ValueError(f"a mesh of {len(triangles)} triangles does not fit the 8-bit triangle raster")
    ids = np.zeros((height, width), np.uint8)
    dst_int = np.round(dst_points).astype(np.int32)
    for index, tri in enumerate(triangles, start=1):
        cv2.fillConvexPoly(ids, dst_int[tri], index)
    # Each output pixel's six affine coefficients by table look-up on its triangle id
    # (id 0, outside the mesh, maps to -1: no source pixel), then two multiply-adds.
    tables = np.zeros((6, 256), np.float32)
    tables[5, 0] = tables[2, 0] = -1.0
    tables[:, 1 : len(triangles) + 1] = triangle_affines(dst_points, src_points, triangles).reshape(-1, 6).T
    xs = np.arange(width, dtype=np.float32)[None, :]
    ys = np.arange(height, dtype=np.float32)[:, None]
    map_x, map_y = (affine_map(*(cv2.LUT(ids, t) for t in tables[k : k + 3]), xs, ys) for k in (0, 3))
    warped = cv2.remap(source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [dst_int[outline]], 255)
    cv2.min(mask, cv2.extractChannel(warped, 3), dst=mask)
    return cv2.cvtColor(warped, cv2.COLOR_BGRA2BGR), mask
