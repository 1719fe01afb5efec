"""The occlusion mask of each swapped face: computed afresh for stills, reused and warped on streams.

An `Occluder` (engines/base.py) says which pixels of a target face's region are the person's own
face and which are something in front of it. Stills ask it for every face (`fresh_occlusion`). On
a stream that costs too much per frame, and masks computed frame by frame flicker; a
`TrackedOcclusion` belongs to one stream and computes a face's mask only on the tracker's cadence
(`observe` at each full detection, or when it has none for that face), and in between moves the
last one with the face: the similarity transform between the landmarks it was computed on and
the face's landmarks now, so glasses stay on the nose as the head sways and zooms.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from plasticvision.engines.base import Occluder, Rendered
from plasticvision.geometry.align import face_in_region
from plasticvision.geometry.regions import Region
from plasticvision.types import Face, Frame, Mask, Points

SLACK = np.ones((5, 5), np.uint8)  # two pixels: the landmark model jitters by about that between detections
OBSERVED_MARGIN = 0.35  # of the face box on each side: the window a stream's masks are computed over

Occlusion = Callable[[Frame, Rendered, Face], Mask]
"""`occlusion(frame, rendered, target)`: the visible-face mask over `rendered.region` (target in frame pixels)."""


def fresh_occlusion(occluder: Occluder) -> Occlusion:
    """Ask the occluder on every call: for unrelated images."""

    def occlusion(frame: Frame, rendered: Rendered, target: Face) -> Mask:
        return occluder.visible(frame[rendered.region.slices], rendered.face)

    return occlusion


def anchor_points(face: Face, seen: bool = False) -> Points:
    """The face's landmarks; with `seen`, where the image has them (a tracker's unsmoothed ones), if known."""
    if seen and face.seen_68 is not None:
        return face.seen_68
    return face.landmarks_68 if face.landmarks_68 is not None else face.landmarks_5


@dataclass(frozen=True)
class Computed:
    """One face's mask as computed: its region's top-left and the face's landmarks then (frame pixels)."""

    mask: Mask
    corner: np.ndarray
    points: Points


class TrackedOcclusion:
    """One stream's occlusion masks by track id: computed on the tracker's cadence, warped in between.

    Faces without a track id (not from a tracker) are computed every time. Thread-safe: frames of
    one stream may be composed at once; the worst a race does is compute a mask twice.

    With `seen` (live streams) a mask moves with the tracker's unsmoothed landmarks, which follow the
    image: the smoothed ones trail a moving head, and the glasses would slide off their mask. A video's
    chunks and its single pass move it with the smoothed ones, which a chunk's warm-up brings to where
    the single pass has them (the unsmoothed ones it does not, and the frames at a join would differ).
    """

    def __init__(self, occluder: Occluder, seen: bool = True) -> None:
        self.occluder = occluder
        self.seen = seen
        self._masks: dict[str, Computed] = {}
        self._lock = threading.Lock()

    def observe(self, frame: Frame, faces: Sequence[Face]) -> None:
        """A full detection ran: compute each face's mask now, over a window around it (not the rendered
        region, which needs a render), so a video chunk's warm-up frames leave the same masks as a
        single pass; lost faces are forgotten."""
        masks = {}
        for face in faces:
            if face.track_id is not None:
                region = Region.around(face, frame.shape, OBSERVED_MARGIN)
                mask = self.occluder.visible(frame[region.slices], face_in_region(face, region))
                masks[face.track_id] = Computed(mask, np.array([region.x0, region.y0], np.float32), anchor_points(face))
        with self._lock:
            self._masks = masks

    def forget(self) -> None:
        """A new scene: no mask carries over."""
        with self._lock:
            self._masks = {}

    def __call__(self, frame: Frame, rendered: Rendered, target: Face) -> Mask:
        region = rendered.region
        with self._lock:
            last = self._masks.get(target.track_id) if target.track_id is not None else None
        if last is not None:
            moved = self.moved(last, region.x0, region.y0, (region.width, region.height), anchor_points(target, self.seen))
            if moved is not None:
                return moved
        mask = self.occluder.visible(frame[region.slices], rendered.face)
        if target.track_id is not None:
            computed = Computed(mask, np.array([region.x0, region.y0], np.float32), anchor_points(target, self.seen).copy())
            with self._lock:
                self._masks[target.track_id] = computed
        return mask

    @staticmethod
    def moved(last: Computed, x0: int, y0: int, size: tuple[int, int], points: Points) -> Mask | None:
        """The last mask carried to where the face is now, over a region at (x0, y0) of `size`;
        None when the landmarks cannot be matched (a different point count)."""
        if len(points) != len(last.points):
            return None
        matrix, _ = cv2.estimateAffinePartial2D(last.points, points, method=cv2.LMEDS)
        if matrix is None:
            return None
        # region-to-region: out of the old region's corner, through the face's motion, into the new one's
        shift = matrix[:, :2] @ last.corner + matrix[:, 2] - np.array([x0, y0], np.float64)
        local = np.hstack([matrix[:, :2], shift[:, None]])
        moved = cv2.warpAffine(
            last.mask, local, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=1.0
        )
        return cv2.erode(moved, SLACK)
