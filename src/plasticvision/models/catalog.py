"""The weights the inswapper engine uses, declared once: file, URL, size, SHA-256 and licence.

Code asks for a spec and lets the store turn it into a path; nobody builds a path by hand.
The checksums are the ones widely published for the original files (insightface's buffalo_l
and inswapper_128, FaceFusion's ONNX export of GFPGAN 1.4).
"""

from __future__ import annotations

from dataclasses import dataclass

NON_COMMERCIAL = (
    "InsightFace pretrained weights: non-commercial research use only "
    "(https://github.com/deepinsight/insightface#license)"
)
GFPGAN_LICENCE = "GFPGAN: Apache-2.0, with NVIDIA StyleGAN2 terms for parts (https://github.com/TencentARC/GFPGAN)"


@dataclass(frozen=True)
class ModelSpec:
    """One weights file. `file` is relative to the models dir (and to a mirror's base URL)."""

    name: str
    file: str
    url: str
    size: int | None
    sha256: str | None
    licence: str
    role: str
    required: bool = True


CATALOG: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="det_10g",
        file="buffalo_l/det_10g.onnx",
        url="https://huggingface.co/public-data/insightface/resolve/main/models/buffalo_l/det_10g.onnx",
        size=16_923_827,
        sha256="5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91",
        licence=NON_COMMERCIAL,
        role="face detector (SCRFD-10GF, buffalo_l)",
    ),
    ModelSpec(
        name="w600k_r50",
        file="buffalo_l/w600k_r50.onnx",
        url="https://huggingface.co/public-data/insightface/resolve/main/models/buffalo_l/w600k_r50.onnx",
        size=174_383_860,
        sha256="4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43",
        licence=NON_COMMERCIAL,
        role="identity embedding (ArcFace R50, buffalo_l)",
    ),
    ModelSpec(
        name="inswapper_128",
        file="inswapper_128.onnx",
        url="https://huggingface.co/ezioruan/inswapper_128.onnx/resolve/main/inswapper_128.onnx",
        size=554_253_681,
        sha256="e4a3f08c753cb72d04e10aa0f7dbe3deebbf39567d4ead6dce08e98aa49e16af",
        licence=NON_COMMERCIAL,
        role="face swapper (inswapper_128)",
    ),
    ModelSpec(
        name="gfpgan_1.4",
        file="gfpgan_1.4.onnx",
        url="https://huggingface.co/facefusion/models-3.0.0/resolve/main/gfpgan_1.4.onnx",
        size=340_299_087,
        sha256="accc4757b26bdb89b32b4d3500d4f79c9dff97c1dd7c7104bf9dcb95e3311385",
        licence=GFPGAN_LICENCE,
        role="face restoration for `enhance` (GFPGAN 1.4)",
        required=False,
    ),
)

REQUIRED = tuple(spec for spec in CATALOG if spec.required)


def spec_named(name: str) -> ModelSpec:
    """The spec called `name`; the error lists the names there are."""
    for spec in CATALOG:
        if spec.name == name:
            return spec
    raise ValueError(f"unknown model '{name}'; known models: {', '.join(spec.name for spec in CATALOG)}")


ENHANCER = spec_named("gfpgan_1.4")
