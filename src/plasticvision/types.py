"""The shared vocabulary: frames, crops, landmarks, faces, and what a swap reports."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]
"""A full image, HxWx3 uint8 BGR (OpenCV order)."""

Crop = npt.NDArray[np.uint8]
"""An aligned face image cut out of a frame."""

Mask = npt.NDArray[np.float32]
"""HxW float32 weights in [0, 1]."""

Matrix = npt.NDArray[np.float64]
"""A 2x3 affine transform."""

Points = npt.NDArray[np.float32]
"""Nx2 float32 pixel coordinates (x, y)."""

FaceMaskType = Literal["box", "occlusion", "region"]
"""The masks a session may add to the feathered face mask: FaceFusion's box, the occluder's, the parser's."""
FACE_MASK_TYPES: tuple[FaceMaskType, ...] = ("box", "occlusion", "region")

MaskRegion = Literal[
    "skin", "left-eyebrow", "right-eyebrow", "left-eye", "right-eye", "glasses", "nose", "mouth", "upper-lip",
    "lower-lip",
]
"""The face parts a region mask may keep (FaceFusion's names for BiSeNet's classes)."""
MASK_REGIONS: tuple[MaskRegion, ...] = (
    "skin", "left-eyebrow", "right-eyebrow", "left-eye", "right-eye", "glasses", "nose", "mouth", "upper-lip",
    "lower-lip",
)

Embedding = npt.NDArray[np.float32]
"""An identity vector in the engine's own space (ArcFace: L2-normalised 512-d; dlib: 128-d, < 0.6 apart = same person)."""


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face. Frozen, so a typo in an attribute name is an error, not a None.

    `landmarks_5` is always there (eyes, nose tip, mouth corners: the ArcFace order, from
    the image's point of view: left eye, right eye, nose, left mouth corner, right mouth
    corner), so the post-processing never needs to know which engine found the face.
    """

    box: npt.NDArray[np.float32]  # x0, y0, x1, y1
    landmarks_5: Points
    score: float
    landmarks_68: Points | None = None
    track_id: str | None = None  # from a FaceTracker: one person across frames; unique across trackers
    # A tracker's landmarks are smoothed, so they trail a moving face a little; what must sit on the image's
    # own content (the occlusion mask of glasses on a moving head) follows these, where the image has them.
    seen_68: Points | None = None

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def centre(self) -> tuple[float, float]:
        return float(self.box[0] + self.box[2]) / 2, float(self.box[1] + self.box[3]) / 2

    def translated(self, dx: float, dy: float) -> Face:
        """The same face with every coordinate moved by (dx, dy): into a region, or after a move."""
        shift = np.array([dx, dy], np.float32)
        return replace(
            self,
            box=(np.asarray(self.box, np.float32) + np.tile(shift, 2)).astype(np.float32),
            landmarks_5=(self.landmarks_5 + shift).astype(np.float32),
            landmarks_68=None if self.landmarks_68 is None else (self.landmarks_68 + shift).astype(np.float32),
            seen_68=None if self.seen_68 is None else (self.seen_68 + shift).astype(np.float32),
        )

    def to_json(self) -> dict:
        """Plain-JSON view for the CLI's --json and the API."""
        data: dict = {
            "box": [round(float(v), 1) for v in self.box],
            "score": round(float(self.score), 4),
            "landmarks_5": [[round(float(x), 1), round(float(y), 1)] for x, y in self.landmarks_5],
        }
        if self.landmarks_68 is not None:
            data["landmarks_68"] = [[round(float(x), 1), round(float(y), 1)] for x, y in self.landmarks_68]
        return data


@dataclass
class SwapReport:
    """What one call to swap did: the new frame plus what callers show or log."""

    frame: Frame
    faces_found: int = 0
    faces_swapped: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)
    message: str = ""
    swapped: tuple[tuple[Face, str | None], ...] = ()  # each swapped face and its identity (None: default sources)

    @property
    def unchanged(self) -> bool:
        """True when no face was swapped (no face in the frame, or no source faces)."""
        return self.faces_swapped == 0
