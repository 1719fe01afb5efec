"""Face alignment geometry: 5-point templates, similarity transforms, crops and paste-back.

Every model that works on aligned faces (ArcFace, inswapper, GFPGAN) cuts its crop here and
every crop goes back into the frame here, so the forward and inverse warps cannot disagree.
"""

from __future__ import annotations

import cv2
import numpy as np

from plasticvision.geometry.regions import Region
from plasticvision.types import Crop, Face, Frame, Mask, Matrix, Points

ARCFACE_TEMPLATE_112: Points = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    np.float32,
)
"""Where ArcFace training put the eyes, nose tip and mouth corners in its 112x112 crops."""

SUBPIXEL_BITS = 4  # polygon corners are drawn at 1/16 pixel precision
SUBPIXEL = 1 << SUBPIXEL_BITS


def arcface_template(size: int) -> Points:
    """The ArcFace template for a crop of `size`: scaled from 112, or from 128 with x shifted by 8.

    insightface's 128-pixel models (inswapper_128) were trained on 112-templates padded to 128
    horizontally, hence the +8 (scaled) shift; the vertical placement stays that of 112.
    """
    if size % 112 == 0:
        return ARCFACE_TEMPLATE_112 * (size / 112.0)
    if size % 128 == 0:
        ratio = size / 128.0
        template = ARCFACE_TEMPLATE_112 * ratio
        template[:, 0] += 8.0 * ratio
        return template
    raise ValueError(f"ArcFace templates exist for multiples of 112 or 128 pixels, not {size}")


def estimate_similarity(src: Points, dst: Points) -> Matrix:
    """The least-squares rotation + uniform scale + translation taking `src` onto `dst` (Umeyama 1991).

    A similarity never shears or stretches a face, unlike a full affine fit to 5 noisy points.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # a reflection is not a pose
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(singular) @ sign)) / max(float(src_c.var(axis=0).sum()), 1e-12)
    matrix = np.empty((2, 3), np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - matrix[:, :2] @ src_mean
    return matrix


def transform_points(points: Points, matrix: Matrix) -> Points:
    """Apply a 2x3 affine transform to Nx2 points."""
    points = np.asarray(points, np.float64)
    return (points @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def warp_crop(frame: Frame, matrix: Matrix, size: int) -> Crop:
    """Cut the `size`x`size` aligned crop that `matrix` maps the frame onto."""
    return cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def paste_region(matrix: Matrix, size: int, frame_shape: tuple[int, ...]) -> Region:
    """The frame window that a `size` crop covers once warped back, clipped to the frame."""
    corners = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float32)
    back = transform_points(corners, cv2.invertAffineTransform(matrix))
    h, w = frame_shape[:2]
    x0, y0 = np.floor(back.min(axis=0)).astype(int)
    x1, y1 = np.ceil(back.max(axis=0)).astype(int)
    return Region(max(int(x0), 0), max(int(y0), 0), min(int(x1), w), min(int(y1), h))


def region_matrix(matrix: Matrix, region: Region) -> Matrix:
    """The crop->region transform: the inverse of `matrix`, moved to the region's origin."""
    inverse = cv2.invertAffineTransform(matrix)
    inverse[:, 2] -= (region.x0, region.y0)
    return inverse


def paste_back(crop: Crop, matrix: Matrix, region: Region, underneath: Frame) -> Frame:
    """Warp a crop back into `region`; pixels the crop does not cover keep `underneath`'s values.

    Warping into the region, not the whole frame, keeps paste-back cost proportional to the face.
    """
    out = underneath.copy()
    cv2.warpAffine(
        crop, region_matrix(matrix, region), (region.width, region.height), dst=out,
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT,
    )
    return out


def paste_mask(mask: Mask, matrix: Matrix, region: Region) -> Mask:
    """A crop-space mask warped into `region` (0 beyond the crop), as FaceFusion's `paste_back` warps its mask."""
    back = cv2.warpAffine(mask, region_matrix(matrix, region), (region.width, region.height))
    return back.clip(0, 1)


def crop_area_mask(matrix: Matrix, size: int, border: float, region: Region) -> Mask:
    """1 where the `size` crop, less a `border` of crop pixels, lands in `region`; 0 elsewhere.

    The border keeps out the crop's outermost pixels, which the forward warp interpolated with
    whatever lay beyond. Filling the mapped-back polygon costs a fraction of warping a mask, and
    its hard edge is what the pipeline's feathering expects.
    """
    inner = np.array([[border, border], [size - border, border], [size - border, size - border],
                      [border, size - border]], np.float32)
    corners = transform_points(inner, cv2.invertAffineTransform(matrix)) - (region.x0, region.y0)
    mask = np.zeros((region.height, region.width), np.float32)
    cv2.fillConvexPoly(mask, np.round(corners * SUBPIXEL).astype(np.int32), 1.0, cv2.LINE_8, SUBPIXEL_BITS)
    return mask


def face_in_region(face: Face, region: Region) -> Face:
    """The same face with its box and landmarks measured from the region's top-left corner."""
    return face.translated(-region.x0, -region.y0)
