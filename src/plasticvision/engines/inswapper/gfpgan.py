"""`GfpganEnhancer`: GFPGAN 1.4 (Wang et al., 2021) restores detail in a face aligned to the FFHQ 512 template."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Sequence

from plasticvision.engines.inswapper.blob import bgr_image, rgb_blob
from plasticvision.engines.inswapper.providers import ProviderEntry, create_session
from plasticvision.types import Crop

INPUT_SIZE = 512
INPUT_MEAN = 0.5
INPUT_STD = 0.5


class GfpganEnhancer:
    """One call: `enhance_crop(crop)`, a 512x512 BGR crop in, the restored crop out."""

    def __init__(self, path: str | Path, providers: Sequence[ProviderEntry]) -> None:
        self.session = create_session(path, providers)
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name

    def enhance_crop(self, crop: Crop) -> Crop:
        blob = rgb_blob(crop, 255.0 * INPUT_MEAN, 255.0 * INPUT_STD)  # (x/255 - mean)/std, in one pass
        (output,) = self.session.run([self.output_name], {self.input_name: blob})
        # (y * std + mean) * 255, saturated: the output's clip to [-1, 1]
        return bgr_image(output, 255.0 * INPUT_STD, 255.0 * INPUT_MEAN)
