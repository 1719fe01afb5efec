"""`InswapperModel`: insightface's inswapper_128, which redraws an aligned 128x128 face with another identity.

The model does not take the ArcFace embedding directly: it takes the embedding projected by
`emap`, a 512x512 matrix stored as the graph's last initializer (not used by the graph itself).
"""

from __future__ import annotations

from pathlib import Path
from collections.abc import Sequence

import numpy as np

from plasticvision.engines.inswapper.arcface import l2_normalise
from plasticvision.engines.inswapper.blob import bgr_image, rgb_blob
from plasticvision.engines.inswapper.emap import read_last_initializer
from plasticvision.engines.inswapper.providers import ProviderEntry, create_session
from plasticvision.geometry.align import arcface_template
from plasticvision.types import Crop, Embedding, Points

INPUT_SIZE = 128
INPUT_MEAN = 0.0
INPUT_STD = 255.0  # the crop goes in as RGB in [0, 1]
TEMPLATE_128: Points = arcface_template(INPUT_SIZE)


def read_emap(path: str | Path) -> np.ndarray:
    """The 512x512 embedding map: the last initializer of the graph."""
    emap = read_last_initializer(path)
    if emap.ndim != 2 or emap.shape[0] != emap.shape[1]:
        raise ValueError(f"{path}: expected a square emap as the last initializer, found shape {emap.shape}")
    return emap


class InswapperModel:
    """One call: `swap_crop(crop, latent)`, with `latent` built from `project`ed source embeddings."""

    def __init__(self, path: str | Path, providers: Sequence[ProviderEntry]) -> None:
        self.session = create_session(path, providers)
        names = [node.name for node in self.session.get_inputs()]
        if set(names) != {"target", "source"}:
            raise ValueError(f"{path}: expected inputs 'target' and 'source', found {names}")
        self.output_name = self.session.get_outputs()[0].name
        self.emap = read_emap(path)

    def project(self, embedding: Embedding) -> np.ndarray:
        """An identity in the swapper's latent space: normalise(embedding) @ emap (once per source image)."""
        return l2_normalise(np.asarray(embedding, np.float32)) @ self.emap

    def latent(self, projected: Sequence[np.ndarray]) -> np.ndarray:
        """The 1x512 `source` input for one or more projected identities.

        The reference recipe averages the normalised embeddings, normalises, projects by emap and
        normalises again. Projection is linear and the inner normalisation only scales, so the
        normalised mean of the projections is the same vector, with the projections done once.
        """
        return l2_normalise(np.mean(projected, axis=0)).reshape(1, -1)

    def swap_crop(self, crop: Crop, latent: np.ndarray) -> Crop:
        """The BGR crop (aligned to `TEMPLATE_128`) redrawn with the identity of `latent`."""
        target = rgb_blob(crop, INPUT_MEAN, INPUT_STD)
        (output,) = self.session.run([self.output_name], {"target": target, "source": latent})
        return bgr_image(output, 255.0, 0.0)
