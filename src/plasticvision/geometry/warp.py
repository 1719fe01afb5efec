"""FaceFusion's alignment: named 5-point templates, the RANSAC partial-affine fit, and the crop warp.

The same numbers and calls as FaceFusion 3.8.1's `face_helper.py` (`WARP_TEMPLATE_SET`,
`estimate_matrix_by_face_landmark_5`, `warp_face_by_face_landmark_5`), because the swappers,
enhancers, occluders and parsers were trained (or exported) on crops cut exactly so; a
different fit or interpolation shifts what the model sees by a fraction of a pixel.
"""

from __future__ import annotations

import cv2
import numpy as np

from plasticvision.types import Crop, Frame, Matrix, Points

WARP_TEMPLATES: dict[str, Points] = {
    "arcface_112_v1": np.array(
        [[0.35473214, 0.45658929], [0.64526786, 0.45658929], [0.50000000, 0.61154464],
         [0.37913393, 0.77687500], [0.62086607, 0.77687500]]),
    "arcface_112_v2": np.array(
        [[0.34191607, 0.46157411], [0.65653393, 0.45983393], [0.50022500, 0.64050536],
         [0.37097589, 0.82469196], [0.63151696, 0.82325089]]),
    "arcface_128": np.array(
        [[0.36167656, 0.40387734], [0.63696719, 0.40235469], [0.50019687, 0.56044219],
         [0.38710391, 0.72160547], [0.61507734, 0.72034453]]),
    "dfl_whole_face": np.array(
        [[0.35342266, 0.39285716], [0.62797622, 0.39285716], [0.48660713, 0.54017860],
         [0.38839287, 0.68750011], [0.59821427, 0.68750011]]),
    "ffhq_512": np.array(
        [[0.37691676, 0.46864664], [0.62285697, 0.46912813], [0.50123859, 0.61331904],
         [0.39308822, 0.72541100], [0.61150205, 0.72490465]]),
    "mtcnn_512": np.array(
        [[0.36562865, 0.46733799], [0.63305391, 0.46585885], [0.50019127, 0.61942959],
         [0.39032951, 0.77598822], [0.61178945, 0.77476328]]),
    "styleganex_384": np.array(
        [[0.42353745, 0.52289879], [0.57725008, 0.52319972], [0.50123859, 0.61331904],
         [0.43364461, 0.68337652], [0.57015325, 0.68306005]]),
}
"""Eyes, nose tip and mouth corners as fractions of the crop's width and height."""

RANSAC_THRESHOLD = 100  # pixels: with 5 points, every point is an inlier; RANSAC only guards a wild one


def template_points(template: str, size: int) -> Points:
    """The named template scaled to a `size` x `size` crop."""
    if template not in WARP_TEMPLATES:
        raise ValueError(f"unknown warp template '{template}'; known: {', '.join(WARP_TEMPLATES)}")
    return WARP_TEMPLATES[template] * (size, size)


def estimate_matrix(landmarks_5: Points, template: str, size: int) -> Matrix:
    """The rotation + uniform scale + translation taking the face's 5 points onto the template (cv2 RANSAC)."""
    points = np.asarray(landmarks_5, np.float64)
    matrix, _ = cv2.estimateAffinePartial2D(
        points, template_points(template, size), method=cv2.RANSAC, ransacReprojThreshold=RANSAC_THRESHOLD
    )
    if matrix is None:
        raise ValueError("the 5 landmarks do not define a face pose (all points coincide)")
    return matrix


def warp_face(frame: Frame, landmarks_5: Points, template: str, size: int) -> tuple[Crop, Matrix]:
    """The aligned `size` crop and its matrix: area interpolation, edges replicated (never black)."""
    matrix = estimate_matrix(landmarks_5, template, size)
    crop = cv2.warpAffine(frame, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_AREA)
    return crop, matrix
