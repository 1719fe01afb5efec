"""XSeg and BiSeNet for engines that do not cut aligned crops themselves (dlib): an `Occluder` and a `RegionParser`.

The neural engine makes these masks on the swapper's own crop; the dlib engine has no such
crop, so these cut FaceFusion's 256-px `arcface_128` crop (the crop XSeg and BiSeNet see under
hyperswap), run the same mask steps, and warp the result back into the region (on a stream, the
parser's crop-space answer is kept between frames as the neural engine's is). Outside the
crop, nothing is known to be in front (visible: 1) and no face part was found (region: 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from plasticvision.engines.base import CropMasks, kept_or_made
from plasticvision.engines.inswapper.catalog_models import OccluderModel, ParserModel
from plasticvision.engines.inswapper.face_masks import occlusion_mask, region_mask
from plasticvision.geometry.align import paste_mask
from plasticvision.geometry.regions import Region
from plasticvision.geometry.warp import warp_face
from plasticvision.types import Face, Frame, Mask

TEMPLATE, SIZE = "arcface_128", 256


def whole(region: Frame) -> Region:
    return Region(0, 0, region.shape[1], region.shape[0])


class NeuralOccluder:
    """`visible(region, face)` from an XSeg model (the `Occluder` protocol), on the target's pixels."""

    def __init__(self, model: OccluderModel) -> None:
        self.model = model

    def visible(self, region: Frame, face: Face) -> Mask:
        crop, matrix = warp_face(region, face.landmarks_5, TEMPLATE, SIZE)
        hidden = 1.0 - occlusion_mask([self.model.visible(crop)], SIZE)
        return cv2.subtract(np.ones(region.shape[:2], np.float32), paste_mask(hidden, matrix, whole(region)))


class NeuralParser:
    """`regions(swapped, face, parts)` from a BiSeNet model (the `RegionParser` protocol), on the swapped pixels."""

    def __init__(self, model: ParserModel) -> None:
        self.model = model

    def regions(
        self, swapped: Frame, face: Face, parts: Sequence[str], crop_masks: CropMasks | None = None
    ) -> Mask:
        crop, matrix = warp_face(swapped, face.landmarks_5, TEMPLATE, SIZE)
        key = ("region", self.model.spec.name, TEMPLATE, SIZE, tuple(parts))
        made = kept_or_made(crop_masks, face.track_id, key, lambda: region_mask(self.model.logits(crop), parts, SIZE))
        return paste_mask(made, matrix, whole(swapped))
