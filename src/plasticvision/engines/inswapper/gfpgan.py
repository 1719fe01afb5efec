"""`GfpganEnhancer`: GFPGAN 1.4 (Wang et al., 2021) restores detail in a face aligned to the FFHQ 512 template."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from plasticvision.engines.inswapper.providers import create_session
from plasticvision.types import Crop

INPUT_SIZE = 512
INPUT_MEAN = 0.5
INPUT_STD = 0.5


class GfpganEnhancer:
    """One call: `enhance_crop(crop)`, a 512x512 BGR crop in, the restored crop out."""

    def __init__(self, path: str | Path, providers: Sequence[str]) -> None:
        self.session = create_session(path, providers)
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name

    def enhance_crop(self, crop: Crop) -> Crop:
        # (x/255 - mean)/std == (x - 255*mean) / (255*std): one fused pass in OpenCV.
        blob = cv2.dnn.blobFromImage(
            crop, 1.0 / (255.0 * INPUT_STD), (INPUT_SIZE, INPUT_SIZE), (255.0 * INPUT_MEAN,) * 3, swapRB=True
        )
        (output,) = self.session.run([self.output_name], {self.input_name: blob})
        restored = (np.clip(output[0], -1.0, 1.0) * INPUT_STD + INPUT_MEAN).transpose(1, 2, 0) * 255.0
        return np.ascontiguousarray(np.clip(restored + 0.5, 0, 255).astype(np.uint8)[:, :, ::-1])
