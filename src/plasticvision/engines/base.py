"""The engine protocol: what the pipeline needs from a model back-end, and nothing more.

An engine finds faces and renders a source identity into a target face's region. Everything
after that (mouth mask, colour, feathering, sharpening, opacity) is engine-independent and
lives in `plasticvision.pipeline`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from collections.abc import Callable, Hashable, Sequence

from plasticvision.errors import NoFaceFound
from plasticvision.geometry.regions import Region
from plasticvision.types import MASK_REGIONS, Embedding, Face, FaceMaskType, Frame, Mask, MaskRegion


@runtime_checkable
class CropMasks(Protocol):
    """Where a stream keeps the masks an engine makes in a model's aligned crop, to reuse them on later frames.

    In the aligned crop the face stays put as the head moves (the alignment takes the motion out),
    so a face-relative mask (what is in front of the face, where its parts are) made on one frame
    still fits the next ones. `mask(track_id, key, make)` returns the mask kept for this track and
    `key` (the model, crop and choices it was made with) when the stream's cadence allows it, else
    `make()` afresh (and keeps it). Engines call it only for tracked faces.
    """

    def mask(self, track_id: str, key: Hashable, make: Callable[[], Mask]) -> Mask:
        ...


@dataclass(frozen=True)
class RenderOptions:
    """A session's model choices for one render: the swapper (None: the engine's default), the extra
    masks and, for the region mask, which face parts it keeps. `crop_masks` is a stream's store of
    crop-space masks (None: stills, which make every mask afresh)."""

    swapper: str | None = None
    face_masks: tuple[FaceMaskType, ...] = ()
    mask_regions: tuple[MaskRegion, ...] = MASK_REGIONS
    crop_masks: CropMasks | None = None


@dataclass
class Rendered:
    """An engine's raw swap of one face inside `region` of the frame.

    `swapped` is the region with the source identity drawn in the target's pose; `mask` says
    where it is valid (1 inside the face, 0 outside; the pipeline feathers it).
    `face` is the target face in region coordinates, for the steps that need landmarks.
    `detail` is how much real detail the render has relative to the target face (1 = as much;
    a source photo smaller than the target face gives less), so sharpening can follow it.
    `face_mask`, when set, is the engine's own soft mask (box, occlusion, region, a swapper's
    mask: already combined by minimum), which the pipeline applies after feathering `mask`;
    `masked` names the `face_masks` the engine has applied in it, so the pipeline does not
    apply them a second time.
    """

    region: Region
    swapped: Frame
    mask: Mask
    face: Face
    detail: float = 1.0
    face_mask: Mask | None = None
    masked: frozenset[str] = frozenset()
    extras: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class SourceFace(Protocol):
    """A source identity prepared once at upload, so the per-frame path does no source work."""

    face: Face
    embedding: Embedding


@runtime_checkable
class Engine(Protocol):
    """A model back-end. Implementations are thread-safe: one instance serves every session."""

    name: str
    supports_enhance: bool

    def detect(self, frame: Frame) -> list[Face]:
        """All faces in the frame, best first is not required."""
        ...

    def prepare_source(self, frame: Frame) -> SourceFace:
        """Precompute everything about the largest face of a source image; raises NoFaceFound."""
        ...

    def embed(self, frame: Frame, face: Face) -> Embedding:
        """The engine's own identity vector for a face, compared by Euclidean distance."""
        ...

    def render(
        self, frame: Frame, target: Face, sources: Sequence[SourceFace], options: RenderOptions | None = None
    ) -> Rendered:
        """Draw the source identity over `target`, in a region around it, with the session's model choices."""
        ...

    def enhance(self, rendered: Rendered, enhancer: str | None = None) -> Rendered:
        """Restore detail in a rendered face (only where `supports_enhance`), with `enhancer` or the default."""
        ...

    def info(self) -> dict[str, Any]:
        """What `GET /status` reports: providers, gpu, model names."""
        ...


@runtime_checkable
class Occluder(Protocol):
    """Where the target's own face is visible, for the `occlusion` mask (a hand, a microphone,
    glasses frames or hair in front of the face are kept, not painted over).

    `region` is the target's pixels of a `Rendered.region` and `face` the target face in region
    coordinates; the answer is a float32 mask of the region's size, 1 where the person's own
    face is visible (the swap may show), 0 where something is in front (the target is kept).
    The pipeline combines it by minimum with the rendered mask: from the neural occluder when its
    weights are present, else from the engine's own (`OccludingEngine`), else not at all.
    """

    def visible(self, region: Frame, face: Face) -> Mask:
        ...


@runtime_checkable
class OccludingEngine(Protocol):
    """An optional engine capability: an occluder of its own that needs no extra weights."""

    occluder: Occluder


@runtime_checkable
class RegionParser(Protocol):
    """Where the chosen face parts are, for the `region` mask: `swapped` is a `Rendered.swapped`
    (the parser sees the swapped face, as FaceFusion's does) and `face` the target face in region
    coordinates; 1 on the parts named in `parts`, 0 elsewhere. On a stream, `crop_masks` keeps
    its crop-space answer for the face's track between frames."""

    def regions(
        self, swapped: Frame, face: Face, parts: Sequence[str], crop_masks: CropMasks | None = None
    ) -> Mask:
        ...


@runtime_checkable
class ParsingEngine(Protocol):
    """An optional engine capability: a face parser serving engines that do not make the region mask themselves."""

    parser: RegionParser


@runtime_checkable
class ChoosesModels(Protocol):
    """An optional engine capability: sessions pick its swapper, enhancer and mask models by name."""

    def check_options(self, swapper: str | None, enhancer: str | None, face_masks: Sequence[str]) -> None:
        """Raise `UnsupportedOption` (422) for a choice this server cannot run, naming those it can."""
        ...


@runtime_checkable
class Refiner(Protocol):
    """An optional engine capability: follow a known face into the next frame cheaply.

    Tracking calls `refine` between full detections with the face from the previous frame;
    it looks only in a region around that face (for dlib: the 68-point predictor started
    from the last landmarks' box, no detector). It returns None when the face cannot be
    followed there, and the tracker then runs full detection. Engines without it are
    tracked with `detect` on every frame (association and smoothing still apply).
    """

    def refine(self, frame: Frame, face: Face) -> Face | None:
        """The face near where `face` was, in this frame; None when it is lost."""
        ...


@runtime_checkable
class ThoroughDetector(Protocol):
    """An optional engine capability: a slower detection that misses fewer faces (small, tilted,
    partly turned), for still images and `detect-faces`. Streams and videos keep `detect`
    (through the tracker), so the live path never pays for it."""

    def detect_thorough(self, frame: Frame) -> list[Face]:
        """Every face of a still image."""
        ...


def occluder_of(engine: Engine) -> Occluder | None:
    """The engine's occluder (its own, or XSeg given to it when its weights are present), if any."""
    return engine.occluder if isinstance(engine, OccludingEngine) else None


def kept_or_made(crop_masks: CropMasks | None, track_id: str | None, key: Hashable, make: Callable[[], Mask]) -> Mask:
    """A crop-space mask: from a stream's store for a tracked face, else made now (stills, untracked faces)."""
    if crop_masks is None or track_id is None:
        return make()
    return crop_masks.mask(track_id, key, make)


def still_detector(engine: Engine) -> Callable[[Frame], list[Face]]:
    """How to find the faces of a still image with this engine: thoroughly where it can."""
    return engine.detect_thorough if isinstance(engine, ThoroughDetector) else engine.detect


def source_face(faces: Sequence[Face]) -> Face:
    """The face a source image stands for: its largest one. A source without a face is an error."""
    if not faces:
        raise NoFaceFound("no face found in the source image")
    return max(faces, key=lambda face: face.area)


def identity_distance(a: Embedding, b: Embedding) -> float:
    """Euclidean distance of two embeddings of one engine (0 = same face)."""
    import numpy as np

    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))
