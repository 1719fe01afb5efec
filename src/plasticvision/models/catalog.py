"""Every model the neural engine can run, declared once as data: file, source, checksum, licence and I/O.

Code asks for a spec and lets the store turn it into a path; nobody builds a path by hand. One
code path runs every model of a role from its spec (template, crop size, tensor names, layout,
colour order, mean/std, how the identity is fed), so adding a model is adding an entry here.

The conventions are FaceFusion 3.8.1's (`processors/modules/face_swapper/core.py`,
`face_enhancer/core.py`, `face_masker.py`: the same templates, sizes and normalisation), so the
files a FaceFusion user already has (`.assets/models/*.onnx` with their `.hash` sidecars) work
as they are. Checksums: SHA-256 where it is published (insightface's buffalo_l, inswapper_128,
GFPGAN 1.4); FaceFusion publishes only a CRC32 `.hash` sidecar per file, which catches a
truncated or corrupt download but not a deliberate substitution, and `models list` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ROLES = ("detector", "recognizer", "swapper", "enhancer", "occluder", "parser", "converter")
Role = Literal["detector", "recognizer", "swapper", "enhancer", "occluder", "parser", "converter"]
IdentityFeed = Literal["emap", "embedding_norm", "converter"]

INSIGHTFACE = (
    "InsightFace pretrained weights: non-commercial research use only "
    "(https://github.com/deepinsight/insightface#license)"
)
GFPGAN_LICENCE = "GFPGAN: Apache-2.0, with NVIDIA StyleGAN2 terms for parts (https://github.com/TencentARC/GFPGAN)"
HYPERSWAP_LICENCE = "FaceFusion HyperSwap: ResearchRAIL (research use; https://huggingface.co/facefusion)"
SIMSWAP_LICENCE = "SimSwap (neuralchen): non-commercial research use only (https://github.com/neuralchen/SimSwap)"
GPEN_LICENCE = "GPEN (yangxy): non-commercial use only (https://github.com/yangxy/GPEN)"
CODEFORMER_LICENCE = "CodeFormer (sczhou): S-Lab License 1.0, non-commercial (https://github.com/sczhou/CodeFormer)"
XSEG_LICENCE = "XSeg (DeepFaceLab): GPL-3.0 (https://github.com/iperov/DeepFaceLab)"
BISENET_LICENCE = "BiSeNet face parsing (yakhyo): MIT (https://github.com/yakhyo/face-parsing)"
CROSSFACE_LICENCE = "CrossFace (FaceFusion): ResearchRAIL (https://huggingface.co/facefusion)"

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def facefusion_url(release: str, file: str) -> str:
    """FaceFusion's Hugging Face mirror of its `facefusion-assets` release `release`."""
    return f"https://huggingface.co/facefusion/{release}/resolve/main/{file}"


@dataclass(frozen=True)
class ModelSpec:
    """One weights file and how to run it. `file` is relative to the models dir (and to a mirror's base URL).

    `sha256` None with `hash_url` set: the file is checked against FaceFusion's CRC32 sidecar
    (`<stem>.hash`, fetched beside it). Crop fields (`template` .. `std`) are FaceFusion's
    names and values; `identity` says how a swapper takes the source face: `emap` (inswapper:
    the embedding through the matrix stored as the graph's last initializer), `embedding_norm`
    (the L2-normalised ArcFace embedding, hyperswap) or `converter` (the raw embedding through
    the `converter` model first, simswap).
    """

    name: str
    file: str
    url: str
    size: int | None
    sha256: str | None
    licence: str
    role: Role
    title: str
    hash_url: str | None = None
    commercial: bool = False
    template: str | None = None
    crop_size: int | None = None
    inputs: tuple[str, ...] = ("input",)
    layout: Literal["nchw", "nhwc"] = "nchw"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    identity: IdentityFeed | None = None
    converter: str | None = None
    denormalise: bool = False  # output * std + mean before the clip to [0, 1] (FaceFusion's normalize_crop_frame)
    mask_output: str | None = None  # a swapper's own face mask output; the image is always the first output

    @property
    def checksum_kind(self) -> str:
        if self.sha256:
            return "SHA-256" + (" + size" if self.size else "")
        if self.hash_url:
            return "CRC32 sidecar (corruption only)"
        return "none"

    @property
    def hash_file(self) -> str | None:
        """The sidecar's path in the models dir, beside the model: `<stem>.hash`."""
        return self.file.rsplit(".", 1)[0] + ".hash" if self.hash_url else None


def facefusion(name: str, release: str, role: Role, title: str, licence: str, **io: object) -> ModelSpec:
    """A model from FaceFusion's assets: upstream file name, Hugging Face URL, CRC32 sidecar."""
    file = f"{name}.onnx"
    return ModelSpec(
        name=name, file=file, url=facefusion_url(release, file), size=None, sha256=None, licence=licence, role=role,
        title=title, hash_url=facefusion_url(release, f"{name}.hash"), **io,  # type: ignore[arg-type]
    )


HYPERSWAP_IO: dict[str, object] = dict(
    template="arcface_128", crop_size=256, inputs=("source", "target"),
    mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), identity="embedding_norm", denormalise=True, mask_output="mask",
)
ENHANCER_IO: dict[str, object] = dict(template="ffhq_512", crop_size=512, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))

CATALOG: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="det_10g", file="buffalo_l/det_10g.onnx",
        url="https://huggingface.co/public-data/insightface/resolve/main/models/buffalo_l/det_10g.onnx",
        size=16_923_827, sha256="5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91",
        licence=INSIGHTFACE, role="detector", title="face detector (SCRFD-10GF, buffalo_l)",
        inputs=("input.1",),
    ),
    ModelSpec(
        name="w600k_r50", file="buffalo_l/w600k_r50.onnx",
        url="https://huggingface.co/public-data/insightface/resolve/main/models/buffalo_l/w600k_r50.onnx",
        size=174_383_860, sha256="4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43",
        licence=INSIGHTFACE, role="recognizer", title="identity embedding (ArcFace R50, buffalo_l)",
        template="arcface_112_v2", crop_size=112, inputs=("input.1",),
        mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
    ),
    facefusion("hyperswap_1a_256", "models-3.3.0", "swapper", "face swapper, 256 px (HyperSwap 1a)",
               HYPERSWAP_LICENCE, **HYPERSWAP_IO),
    facefusion("hyperswap_1b_256", "models-3.3.0", "swapper", "face swapper, 256 px (HyperSwap 1b)",
               HYPERSWAP_LICENCE, **HYPERSWAP_IO),
    facefusion("hyperswap_1c_256", "models-3.3.0", "swapper", "face swapper, 256 px (HyperSwap 1c)",
               HYPERSWAP_LICENCE, **HYPERSWAP_IO),
    ModelSpec(
        name="inswapper_128", file="inswapper_128.onnx",
        url="https://huggingface.co/ezioruan/inswapper_128.onnx/resolve/main/inswapper_128.onnx",
        size=554_253_681, sha256="e4a3f08c753cb72d04e10aa0f7dbe3deebbf39567d4ead6dce08e98aa49e16af",
        licence=INSIGHTFACE, role="swapper", title="face swapper, 128 px (inswapper_128)",
        template="arcface_128", crop_size=128, inputs=("target", "source"), identity="emap",
    ),
    facefusion("simswap_256", "models-3.0.0", "swapper", "face swapper, 256 px (SimSwap)", SIMSWAP_LICENCE,
               template="arcface_112_v1", crop_size=256, inputs=("target", "source"), mean=IMAGENET_MEAN,
               std=IMAGENET_STD, identity="converter", converter="crossface_simswap"),
    facefusion("crossface_simswap", "models-3.4.0", "converter",
               "ArcFace embedding to SimSwap's identity space (for simswap_256)", CROSSFACE_LICENCE),
    ModelSpec(
        name="gfpgan_1.4", file="gfpgan_1.4.onnx", url=facefusion_url("models-3.0.0", "gfpgan_1.4.onnx"),
        size=340_299_087, sha256="accc4757b26bdb89b32b4d3500d4f79c9dff97c1dd7c7104bf9dcb95e3311385",
        licence=GFPGAN_LICENCE, role="enhancer", title="face restoration (GFPGAN 1.4)", commercial=True,
        **ENHANCER_IO,  # type: ignore[arg-type]
    ),
    facefusion("gpen_bfr_512", "models-3.0.0", "enhancer", "face restoration (GPEN-BFR 512)", GPEN_LICENCE,
               **ENHANCER_IO),
    facefusion("codeformer", "models-3.0.0", "enhancer", "face restoration (CodeFormer)", CODEFORMER_LICENCE,
               inputs=("input", "weight"), **ENHANCER_IO),
    facefusion("xseg_1", "models-3.1.0", "occluder", "occlusion mask (XSeg 1)", XSEG_LICENCE, commercial=True,
               crop_size=256, layout="nhwc"),
    facefusion("xseg_2", "models-3.1.0", "occluder", "occlusion mask (XSeg 2)", XSEG_LICENCE, commercial=True,
               crop_size=256, layout="nhwc"),
    facefusion("xseg_3", "models-3.2.0", "occluder", "occlusion mask (XSeg 3)", XSEG_LICENCE, commercial=True,
               crop_size=256, layout="nhwc"),
    facefusion("bisenet_resnet_34", "models-3.0.0", "parser", "face parser for region masks (BiSeNet ResNet-34)",
               BISENET_LICENCE, commercial=True, crop_size=512, mean=IMAGENET_MEAN, std=IMAGENET_STD),
    facefusion("bisenet_resnet_18", "models-3.1.0", "parser", "face parser for region masks (BiSeNet ResNet-18)",
               BISENET_LICENCE, commercial=True, crop_size=512, mean=IMAGENET_MEAN, std=IMAGENET_STD),
)

SWAPPER_PREFERENCE = ("hyperswap_1a_256", "hyperswap_1b_256", "hyperswap_1c_256", "inswapper_128", "simswap_256")
"""The default swapper is the first of these whose weights are present (FaceFusion 3.8's default first)."""
ENHANCER_PREFERENCE = ("gfpgan_1.4", "gpen_bfr_512", "codeformer")
OCCLUDER_PREFERENCE = ("xseg_1", "xseg_2", "xseg_3")
PARSER_PREFERENCE = ("bisenet_resnet_34", "bisenet_resnet_18")
RECOMMENDED = ("det_10g", "w600k_r50", "hyperswap_1a_256", "gfpgan_1.4", "xseg_1", "bisenet_resnet_34")
"""`plasticvision models download --recommended`: a 256-px swap with restoration and both masks."""


def spec_named(name: str) -> ModelSpec:
    """The spec called `name`; the error lists the names there are."""
    for spec in CATALOG:
        if spec.name == name:
            return spec
    raise ValueError(f"unknown model '{name}'; known models: {', '.join(spec.name for spec in CATALOG)}")


def of_role(role: Role) -> tuple[ModelSpec, ...]:
    return tuple(spec for spec in CATALOG if spec.role == role)


def names_of(role: Role) -> tuple[str, ...]:
    return tuple(spec.name for spec in of_role(role))


REQUIRED = (spec_named("det_10g"), spec_named("w600k_r50"))
"""What the neural engine needs to start; every other model loads when a session first asks for it."""
ENHANCER = spec_named("gfpgan_1.4")
