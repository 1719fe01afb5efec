"""`InswapperEngine`: SCRFD + ArcFace + inswapper_128 (+ optional GFPGAN 1.4) behind the engine protocol.

It only finds faces and draws the source identity into them; the shared post-processing in
`plasticvision.pipeline` feathers, colour-matches, sharpens and blends the result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from collections.abc import Sequence

import numpy as np

from plasticvision.geometry.align import (
    FFHQ_TEMPLATE_512,
    crop_area_mask,
    estimate_similarity,
    face_in_region,
    paste_back,
    paste_region,
    warp_crop,
)
from plasticvision.engines.base import Rendered, source_face
from plasticvision.engines.inswapper.arcface import ArcFaceRecognizer
from plasticvision.engines.inswapper.gfpgan import INPUT_SIZE as GFPGAN_SIZE
from plasticvision.engines.inswapper.gfpgan import GfpganEnhancer
from plasticvision.engines.inswapper.providers import ProviderEntry, check_session, choose_providers
from plasticvision.engines.inswapper.reuse import RestorationReuse
from plasticvision.engines.inswapper.scrfd import ScrfdDetector
from plasticvision.engines.inswapper.swapper import INPUT_SIZE as SWAP_SIZE
from plasticvision.engines.inswapper.swapper import TEMPLATE_128, InswapperModel
from plasticvision.errors import UnsupportedOption
from plasticvision.geometry.regions import Region
from plasticvision.models import catalog
from plasticvision.models.store import ModelStore
from plasticvision.types import Embedding, Face, Frame

log = logging.getLogger(__name__)

MASK_BORDER = 4  # crop pixels left out of the paste-back mask: the warp's interpolated edge
ENHANCE_REUSES = 2  # a live stream restores a still face at least every third frame


@dataclass(frozen=True, eq=False)
class InswapperSource:
    """A source identity: the face found in the upload, its ArcFace embedding, and that embedding
    through inswapper's emap (done once here, not per frame)."""

    face: Face
    embedding: Embedding
    projected: np.ndarray


def optional_enhancer(path: str | Path, providers: Sequence[ProviderEntry]) -> GfpganEnhancer | None:
    """GFPGAN if its file loads; enhance is optional, so a broken file must not take the swap down with it."""
    try:
        return GfpganEnhancer(path, providers)
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
        log.warning("cannot load %s (%s); enhance is off until it is replaced", path, exc)
        return None


class InswapperEngine:
    """The neural engine. Thread-safe: onnxruntime sessions may be run from many threads at once."""

    name = "inswapper"

    def __init__(
        self,
        detector: str | Path,
        recognizer: str | Path,
        swapper: str | Path,
        enhancer: str | Path | None = None,
        *,
        providers: Sequence[ProviderEntry] | None = None,
        enhance_reuses: int = ENHANCE_REUSES,
    ) -> None:
        self.providers = list(providers) if providers is not None else choose_providers()
        self.detector = ScrfdDetector(detector, self.providers)
        self.report = check_session(self.detector.session, self.providers)
        self.recognizer = ArcFaceRecognizer(recognizer, self.providers)
        self.swapper = InswapperModel(swapper, self.providers)
        self.enhancer = optional_enhancer(enhancer, self.providers) if enhancer else None
        self.reuse = RestorationReuse(enhance_reuses)

    @classmethod
    def from_models_dir(cls, models_dir: str | Path, **options: Any) -> InswapperEngine:
        """Load verified weights from the models dir (GFPGAN only if present); raises ModelMissing otherwise."""
        return cls.from_store(ModelStore(models_dir), **options)

    @classmethod
    def from_store(cls, store: ModelStore, **options: Any) -> InswapperEngine:
        detector, recognizer, swapper = store.require(catalog.REQUIRED)
        problem = store.problem(catalog.ENHANCER)
        if problem and store.path(catalog.ENHANCER).exists():
            log.warning("%s %s; enhance is off until it is replaced", store.path(catalog.ENHANCER), problem)
        enhancer = None if problem else store.path(catalog.ENHANCER)
        return cls(detector, recognizer, swapper, enhancer, **options)

    @property
    def supports_enhance(self) -> bool:
        return self.enhancer is not None

    def detect(self, frame: Frame) -> list[Face]:
        return self.detector.detect(frame)

    def embed(self, frame: Frame, face: Face) -> Embedding:
        return self.recognizer.embed(frame, face)

    def prepare_source(self, frame: Frame) -> InswapperSource:
        face = source_face(self.detect(frame))
        embedding = self.embed(frame, face)
        return InswapperSource(face, embedding, self.swapper.project(embedding))

    def render(self, frame: Frame, target: Face, sources: Sequence[InswapperSource]) -> Rendered:
        """Swap in the aligned 128 crop, then warp it back over the region the crop covers."""
        latent = self.swapper.latent([source.projected for source in sources])
        matrix = estimate_similarity(target.landmarks_5, TEMPLATE_128)
        swapped_crop = self.swapper.swap_crop(warp_crop(frame, matrix, SWAP_SIZE), latent)
        region = paste_region(matrix, SWAP_SIZE, frame.shape)
        swapped = paste_back(swapped_crop, matrix, region, frame[region.slices])
        mask = crop_area_mask(matrix, SWAP_SIZE, MASK_BORDER, region)
        return Rendered(region, swapped, mask, face_in_region(target, region))

    def enhance(self, rendered: Rendered) -> Rendered:
        """GFPGAN on the FFHQ-aligned 512 crop of the rendered face, warped back over it."""
        if self.enhancer is None:
            raise UnsupportedOption(
                f"enhance needs {catalog.ENHANCER.file} in the models dir: "
                f"`plasticvision models download {catalog.ENHANCER.name}`"
            )
        matrix = estimate_similarity(rendered.face.landmarks_5, FFHQ_TEMPLATE_512)
        crop = warp_crop(rendered.swapped, matrix, GFPGAN_SIZE)
        restored = self.reuse.restore(crop, self.enhancer.enhance_crop)
        whole = Region(0, 0, rendered.region.width, rendered.region.height)
        return replace(rendered, swapped=paste_back(restored, matrix, whole, rendered.swapped))

    def info(self) -> dict[str, Any]:
        return {
            "gpu": self.report.gpu,
            "providers": list(self.report.providers),
            "provider_warning": self.report.warning,
            "enhance": self.supports_enhance,
        }
