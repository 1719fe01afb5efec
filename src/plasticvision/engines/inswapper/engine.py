"""`InswapperEngine`, the neural engine: SCRFD + ArcFace, and any catalog swapper, enhancer, occluder and parser.

It only finds faces and draws the source identity into them, FaceFusion 3.8.1's way (its
`face_swapper/core.py` `swap_face`): warp the target to the swapper's template, make the box and
occlusion masks on that target crop, swap, make the region mask on the swapped crop, combine
by minimum, paste back. The shared post-processing in `plasticvision.pipeline` feathers,
colour-matches, sharpens and blends the result. Only the detector and recognizer are needed
to start; every other model loads when a session first asks for it. On a stream, the occlusion
and region masks of a tracked face come from the stream's `CropMasks` (made on its cadence and
reused in crop space between); stills make them afresh, exactly as FaceFusion does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from collections.abc import Sequence

import cv2
import numpy as np

from plasticvision.engines.base import Rendered, RenderOptions, kept_or_made, source_face
from plasticvision.engines.inswapper.arcface import ArcFaceRecognizer
from plasticvision.engines.inswapper.face_masks import combine_masks, create_box_mask, occlusion_mask, region_mask
from plasticvision.engines.inswapper.loader import ModelLoader
from plasticvision.engines.inswapper.providers import ProviderEntry, check_session, choose_providers
from plasticvision.engines.inswapper.reuse import RestorationReuse
from plasticvision.engines.inswapper.scrfd import ScrfdDetector
from plasticvision.errors import ModelMissing, UnsupportedOption
from plasticvision.geometry.align import crop_area_mask, face_in_region, paste_back, paste_mask, paste_region
from plasticvision.geometry.regions import Region
from plasticvision.geometry.warp import warp_face
from plasticvision.models import catalog
from plasticvision.models.store import ModelStore
from plasticvision.types import Crop, Embedding, Face, Frame, Mask

log = logging.getLogger(__name__)

MASK_BORDER = 4 / 128  # of the crop left out of the paste-back mask: the warp's interpolated edge
ENHANCE_REUSES = 2  # a live stream restores a still face at least every third frame
ENHANCER_BLEND = 0.8  # FaceFusion's default `face_enhancer_blend` (80): the restoration's share


@dataclass(frozen=True, eq=False)
class InswapperSource:
    """A source identity: the face found in the upload, its L2-normalised ArcFace embedding (for
    identity matching) and the raw one (what each swapper's identity feed starts from)."""

    face: Face
    embedding: Embedding
    raw: Embedding


class InswapperEngine:
    """The neural engine. Thread-safe: onnxruntime sessions may be run from many threads at once.

    `swapper` and `enhancer` pin the files of inswapper_128 and GFPGAN 1.4 (tests and benches);
    `store` provides every catalog model by name.
    """

    name = "inswapper"

    def __init__(
        self,
        detector: str | Path,
        recognizer: str | Path,
        swapper: str | Path | None = None,
        enhancer: str | Path | None = None,
        *,
        providers: Sequence[ProviderEntry] | None = None,
        enhance_reuses: int = ENHANCE_REUSES,
        store: ModelStore | None = None,
    ) -> None:
        self.providers = list(providers) if providers is not None else choose_providers()
        self.detector = ScrfdDetector(detector, self.providers)
        self.report = check_session(self.detector.session, self.providers)
        self.recognizer = ArcFaceRecognizer(recognizer, self.providers)
        pinned = {"inswapper_128": swapper, "gfpgan_1.4": enhancer}
        self.models = ModelLoader(store, self.providers, {k: Path(v) for k, v in pinned.items() if v})
        self.default_swapper = self.models.first_available(catalog.SWAPPER_PREFERENCE)
        self.default_enhancer = self.models.first_available(catalog.ENHANCER_PREFERENCE)
        self.occluder_name = self.models.first_available(catalog.OCCLUDER_PREFERENCE)
        self.parser_name = self.models.first_available(catalog.PARSER_PREFERENCE)
        self.reuse = RestorationReuse(enhance_reuses)

    @classmethod
    def from_models_dir(cls, models_dir: str | Path, **options: Any) -> InswapperEngine:
        """The engine over the models dir (detector and recognizer verified now); raises ModelMissing otherwise."""
        return cls.from_store(ModelStore(models_dir), **options)

    @classmethod
    def from_store(cls, store: ModelStore, **options: Any) -> InswapperEngine:
        detector, recognizer = store.require(catalog.REQUIRED)
        required = {spec.name for spec in catalog.REQUIRED}
        for spec in catalog.CATALOG:
            problem = None if spec.name in required else store.problem(spec)
            if problem and not problem.startswith("missing"):
                log.warning("%s %s; it cannot be chosen until it is replaced", store.path(spec), problem)
        engine = cls(detector, recognizer, store=store, **options)
        if engine.default_swapper is None:
            log.warning("no face swapper in %s: `plasticvision models download hyperswap_1a_256`", store.root)
        return engine

    @property
    def supports_enhance(self) -> bool:
        return self.default_enhancer is not None

    def detect(self, frame: Frame) -> list[Face]:
        return self.detector.detect(frame)

    def embed(self, frame: Frame, face: Face) -> Embedding:
        return self.recognizer.embed(frame, face)

    def prepare_source(self, frame: Frame) -> InswapperSource:
        face = source_face(self.detect(frame))
        raw = self.recognizer.embed_raw(frame, face)
        return InswapperSource(face, (raw / max(float(np.linalg.norm(raw)), 1e-12)).astype(np.float32), raw)

    def check_options(self, swapper: str | None, enhancer: str | None, face_masks: Sequence[str]) -> None:
        """Raise a 422 for a model choice this server cannot run (naming the ones it can).

        A chosen model is loaded here, on its first choice, so a damaged or mismatched file is
        refused when the setting is made, not on every frame after it.
        """
        if swapper is not None:
            self.models.check_choice(swapper, "swapper")
            self.models.swapper(swapper)
        if enhancer is not None:
            self.models.check_choice(enhancer, "enhancer")
            self.models.enhancer(enhancer)
        if "region" in face_masks:
            if self.parser_name is None:
                self.models.check_choice(catalog.PARSER_PREFERENCE[0], "parser")
            self.models.parser(self.parser_name or "")
        if "occlusion" in face_masks and self.occluder_name is not None:
            self.models.occluder(self.occluder_name)

    def render(
        self, frame: Frame, target: Face, sources: Sequence[InswapperSource], options: RenderOptions | None = None
    ) -> Rendered:
        """Swap in the swapper's aligned crop, mask it in crop space, and warp both back over the region."""
        options = options or RenderOptions()
        model = self.models.swapper(self.swapper_name(options.swapper))
        spec, size = model.spec, int(model.spec.crop_size or 0)
        crop, matrix = warp_face(frame, target.landmarks_5, spec.template or "arcface_128", size)
        masks, masked = self.target_masks(crop, options, target.track_id, spec.template)
        swapped_crop, model_mask = model.swap(crop, model.source_input([source.raw for source in sources]))
        masks += [] if model_mask is None else [model_mask]
        if "region" in options.face_masks and self.parser_name is not None:
            parser, regions = self.models.parser(self.parser_name), options.mask_regions
            key = ("region", self.parser_name, spec.template, size, regions)
            masks.append(kept_or_made(options.crop_masks, target.track_id, key,
                                      lambda: region_mask(parser.logits(swapped_crop), regions, size)))
            masked.add("region")
        region = paste_region(matrix, size, frame.shape)
        swapped = paste_back(to_uint8(swapped_crop), matrix, region, frame[region.slices])
        mask = crop_area_mask(matrix, size, MASK_BORDER * size, region)
        face_mask = paste_mask(combine_masks(masks), matrix, region) if masks else None
        return Rendered(region, swapped, mask, face_in_region(target, region), face_mask=face_mask,
                        masked=frozenset(masked))

    def swapper_name(self, chosen: str | None) -> str:
        name = chosen or self.default_swapper
        if name is None:
            raise ModelMissing(
                "no face swapper in the models dir: `plasticvision models download hyperswap_1a_256` (or inswapper_128)"
            )
        return name

    def target_masks(
        self, crop: Crop, options: RenderOptions, track_id: str | None = None, template: str | None = None
    ) -> tuple[list[Mask], set[str]]:
        """The masks FaceFusion makes on the target's crop before the swap: box, and occlusion (XSeg);
        a tracked face's occlusion mask may come from its stream (`track_id`, the crop's `template`)."""
        masks: list[Mask] = []
        masked: set[str] = set()
        size = crop.shape[0]
        if "box" in options.face_masks:
            masks.append(create_box_mask(size))
            masked.add("box")
        if "occlusion" in options.face_masks and self.occluder_name is not None:
            occluder = self.models.occluder(self.occluder_name)
            key = ("occlusion", self.occluder_name, template, size)
            masks.append(kept_or_made(options.crop_masks, track_id, key, lambda: occlusion_mask([occluder.visible(crop)], size)))
            masked.add("occlusion")
        return masks, masked

    def enhance(self, rendered: Rendered, enhancer: str | None = None) -> Rendered:
        """The enhancer on the FFHQ-aligned 512 crop of the rendered face, pasted back through FaceFusion's box
        mask at its default blend (80 %)."""
        name = enhancer or self.default_enhancer
        if name is None:
            raise UnsupportedOption(
                f"enhance needs an enhancer in the models dir: `plasticvision models download {catalog.ENHANCER.name}`"
            )
        model = self.models.enhancer(name)
        size = int(model.spec.crop_size or 512)
        crop, matrix = warp_face(rendered.swapped, rendered.face.landmarks_5, model.spec.template or "ffhq_512", size)
        restored = self.reuse.restore(crop, model.enhance_crop)
        whole = Region(0, 0, rendered.region.width, rendered.region.height)
        pasted = paste_back(restored, matrix, whole, rendered.swapped)
        weight = paste_mask(create_box_mask(size) * np.float32(ENHANCER_BLEND), matrix, whole)
        return replace(rendered, swapped=cv2.blendLinear(pasted, rendered.swapped, weight, 1.0 - weight))

    def info(self) -> dict[str, Any]:
        return {
            "gpu": self.report.gpu,
            "providers": list(self.report.providers),
            "provider_warning": self.report.warning,
            "enhance": self.supports_enhance,
            "models": self.model_choices(),
        }

    def model_choices(self) -> dict[str, Any]:
        """What a session may pick here and what it gets by default."""
        return {
            "swappers": list(self.models.available("swapper")),
            "enhancers": list(self.models.available("enhancer")),
            "default_swapper": self.default_swapper,
            "default_enhancer": self.default_enhancer,
            "occluder": self.occluder_name,
            "parser": self.parser_name,
        }


def to_uint8(crop: np.ndarray) -> Crop:
    """A 0..255 float crop as uint8, rounded (FaceFusion truncates after blending; rounding is the fairer half)."""
    return cv2.convertScaleAbs(crop) if crop.dtype != np.uint8 else crop
