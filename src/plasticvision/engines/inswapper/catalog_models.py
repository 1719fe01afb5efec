"""One wrapper per role for every catalog model, driven by its spec: swappers, enhancers, occluders, parsers.

A wrapper owns an onnxruntime session and does one call; the spec says the crop, the tensor
names and the normalisation, so hyperswap, inswapper and simswap share one class (as GFPGAN,
GPEN and CodeFormer do). A file whose inputs are not the ones its name promises is refused
when loaded, with a message naming both, instead of failing inside onnxruntime per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from plasticvision.engines.inswapper.crop_io import (
    normalize_crop_frame,
    normalize_enhanced_frame,
    prepare_crop_frame,
    prepare_source_embedding,
)
from plasticvision.engines.inswapper.emap import read_last_initializer
from plasticvision.engines.inswapper.face_masks import occluder_input, parser_input
from plasticvision.engines.inswapper.providers import ProviderEntry, create_session
from plasticvision.errors import ModelUnusable
from plasticvision.models.catalog import ModelSpec
from plasticvision.types import Crop, Embedding

ENHANCER_WEIGHT = 0.5  # FaceFusion's default `face_enhancer_weight` (CodeFormer's fidelity input)
SOURCE_CACHE = 32  # prepared source inputs remembered per swapper (sessions x identities in use)


class CatalogModel:
    """An onnxruntime session for `spec`, its inputs checked against the spec's names."""

    def __init__(self, spec: ModelSpec, path: str | Path, providers: Sequence[ProviderEntry]) -> None:
        self.spec = spec
        try:
            self.session = create_session(path, providers)
        except Exception as exc:  # onnxruntime raises its own types for unreadable files
            raise ModelUnusable(f"{spec.name}: {path} is not a loadable ONNX model ({first_line(exc)})") from exc
        found = sorted(node.name for node in self.session.get_inputs())
        if found != sorted(spec.inputs):
            raise ModelUnusable(
                f"{spec.name}: {path} takes inputs {found}, but {spec.name} takes {sorted(spec.inputs)}: "
                "a different model under this file name?"
            )
        self.output_names = [node.name for node in self.session.get_outputs()]

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """All outputs, as FaceFusion's `run(None, ...)` returns them."""
        return self.session.run(None, feeds)


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


class SwapperModel(CatalogModel):
    """A face swapper: `swap(crop, source)` redraws the aligned crop with the `source` identity."""

    def __init__(
        self, spec: ModelSpec, path: str | Path, providers: Sequence[ProviderEntry], converter: CatalogModel | None = None
    ) -> None:
        super().__init__(spec, path, providers)
        self.converter = converter
        self.emap = read_emap(spec, path) if spec.identity == "emap" else None
        self._sources: dict[bytes, np.ndarray] = {}

    def source_input(self, raw_embeddings: Sequence[Embedding]) -> np.ndarray:
        """The `source` input for these sources, prepared once and then remembered (keyed by their values,
        so a live stream pays for the projection or the converter once, not per frame)."""
        key = b"".join(np.asarray(raw, np.float32).tobytes() for raw in raw_embeddings)
        prepared = self._sources.get(key)
        if prepared is None:
            convert = None if self.converter is None else (lambda e: self.converter.run({"input": e})[0])  # type: ignore[union-attr]
            prepared = prepare_source_embedding(raw_embeddings, self.spec, emap=self.emap, convert=convert)
            if len(self._sources) >= SOURCE_CACHE:
                self._sources.clear()
            self._sources[key] = prepared
        return prepared

    def swap(self, crop: Crop, source: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The swapped crop (float32 BGR, 0..255) and the model's own face mask (crop-sized) if it has one."""
        outputs = self.run({"target": prepare_crop_frame(crop, self.spec), "source": source})
        swapped = normalize_crop_frame(outputs[0][0], self.spec)
        mask = None
        if self.spec.mask_output in self.output_names:
            mask = np.asarray(outputs[self.output_names.index(self.spec.mask_output)], np.float32)
            mask = mask.reshape(mask.shape[-2:]).clip(0, 1)
        return swapped, mask


def read_emap(spec: ModelSpec, path: str | Path) -> np.ndarray:
    """inswapper's 512x512 identity projection, the graph's last initializer (FaceFusion's `get_static_model_initializer`)."""
    try:
        emap = read_last_initializer(path)
    except ValueError as exc:
        raise ModelUnusable(f"{spec.name}: {exc}") from exc
    if emap.shape != (512, 512):
        raise ModelUnusable(f"{spec.name}: {path} has a last initializer of shape {emap.shape}, not the 512x512 emap")
    return emap


class EnhancerModel(CatalogModel):
    """A face restorer on the FFHQ-aligned 512 crop: `enhance_crop(crop)` (CodeFormer also takes its weight)."""

    def enhance_crop(self, crop: Crop) -> Crop:
        feeds = {"input": prepare_crop_frame(crop, self.spec)}
        if "weight" in self.spec.inputs:
            feeds["weight"] = np.array([ENHANCER_WEIGHT], np.double)
        return normalize_enhanced_frame(self.run(feeds)[0][0])


class OccluderModel(CatalogModel):
    """XSeg: `visible(crop)` is its raw HxWx1 output for the target crop (1 = the face is visible)."""

    def visible(self, crop: Crop) -> np.ndarray:
        return self.run({"input": occluder_input(crop, self.spec.crop_size or 256)})[0][0]


class ParserModel(CatalogModel):
    """BiSeNet: `logits(crop)` is its CxHxW class scores for a crop (19 CelebAMask-HQ classes)."""

    def logits(self, crop: np.ndarray) -> np.ndarray:
        return self.run({"input": parser_input(crop, self.spec.crop_size or 512)})[0][0]
