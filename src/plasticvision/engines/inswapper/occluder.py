"""XSeg as an `Occluder`: the occlusion mask for engines that do not cut aligned crops themselves (dlib).

The neural engine makes its occlusion mask on the swapper's own crop; the dlib engine has no
such crop, so this cuts FaceFusion's 256-px `arcface_128` crop of the target (the crop XSeg sees
under hyperswap), runs the same mask steps, and warps the result back into the region. Outside
the crop nothing is known to be in front, so it counts as visible.
"""

from __future__ import annotations

import cv2
import numpy as np

from plasticvision.align import paste_mask
from plasticvision.engines.base import Region
from plasticvision.engines.inswapper.catalog_models import OccluderModel
from plasticvision.engines.inswapper.face_masks import occlusion_mask
from plasticvision.geometry.warp import warp_face
from plasticvision.types import Face, Frame, Mask

TEMPLATE, SIZE = "arcface_128", 256


class NeuralOccluder:
    """`visible(region, face)` from an XSeg model (the `Occluder` protocol)."""

    def __init__(self, model: OccluderModel) -> None:
        self.model = model

    def visible(self, region: Frame, face: Face) -> Mask:
        crop, matrix = warp_face(region, face.landmarks_5, TEMPLATE, SIZE)
        hidden = 1.0 - occlusion_mask([self.model.visible(crop)], SIZE)
        whole = Region(0, 0, region.shape[1], region.shape[0])
        return cv2.subtract(np.ones(region.shape[:2], np.float32), paste_mask(hidden, matrix, whole))
