"""The engine protocol: what the pipeline needs from a model back-end, and nothing more.

An engine finds faces and renders a source identity into a target face's region. Everything
after that (mouth mask, colour, feathering, sharpening, opacity) is engine-independent and
lives in `plasticvision.pipeline`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from collections.abc import Callable, Sequence

from plasticvision.errors import NoFaceFound
from plasticvision.types import Embedding, Face, Frame, Mask


@dataclass(frozen=True)
class Region:
    """An axis-aligned window of a frame, in whole pixels, end-exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @classmethod
    def around(cls, face: Face, frame_shape: tuple[int, ...], margin: float) -> Region:
        """The face box grown by `margin` of its size on every side, clipped to the frame."""
        h, w = frame_shape[:2]
        x0, y0, x1, y1 = (float(v) for v in face.box)
        grow_x, grow_y = (x1 - x0) * margin, (y1 - y0) * margin
        return cls(
            max(int(x0 - grow_x), 0),
            max(int(y0 - grow_y * 1.4), 0),  # more room above: the forehead
            min(int(x1 + grow_x) + 1, w),
            min(int(y1 + grow_y) + 1, h),
        )


@dataclass
class Rendered:
    """An engine's raw swap of one face inside `region` of the frame.

    `swapped` is the region with the source identity drawn in the target's pose; `mask` says
    where it is valid (1 inside the face, 0 outside; the pipeline feathers it).
    `face` is the target face in region coordinates, for the steps that need landmarks.
    `detail` is how much real detail the render has relative to the target face (1 = as much;
    a source photo smaller than the target face gives less), so sharpening can follow it.
    """

    region: Region
    swapped: Frame
    mask: Mask
    face: Face
    detail: float = 1.0
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

    def render(self, frame: Frame, target: Face, sources: Sequence[SourceFace]) -> Rendered:
        """Draw the source identity over `target`, in a region around it."""
        ...

    def enhance(self, rendered: Rendered) -> Rendered:
        """Restore detail in a rendered face (only where `supports_enhance`)."""
        ...

    def info(self) -> dict[str, Any]:
        """What `GET /status` reports: providers, gpu, model names."""
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


@runtime_checkable
class Occluder(Protocol):
    """What is in front of a target face (glasses frames, hands, pens, hair), so the swap keeps it.

    The pipeline takes the minimum of this and the rendered mask. The dlib engine is one (its
    colour-and-shape model of the target's own face, no weights); a neural occluder (XSeg)
    replaces it when its weights are present.
    """

    def visible(self, region: Frame, face: Face) -> Mask:
        """Float32 over `region` (the target's pixels of a `Rendered.region`; `face` in region
        coordinates): 1 where the person's own face is visible (the swap may show), 0 where
        something is in front of it."""
        ...


def occluder_of(engine: Engine) -> Occluder | None:
    """The engine's own occluder, if it has one (the default occlusion mask for its users)."""
    return engine if isinstance(engine, Occluder) else None


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
