"""Face tracking for streams and videos: detect rarely, follow cheaply, smooth, bridge misses.

Full detection is the most expensive step of a frame, and running it on every frame makes
the landmarks jitter. A `FaceTracker` belongs to one stream or one video (never shared, so
users never see each other's tracks) and replaces detection through `locate`; a
`LiveStream` (`session.stream()`, pipeline/stream.py) pairs one with a session:

    tracker = FaceTracker(engine)
    report = session.swap(frame, settings, locate=tracker.locate)

It runs full detection on the first frame, every `detect_every` frames, and whenever a
track could not be followed. In between, each face is found again around where it was: a
template match says where it went and whether it is still there (a low match means lost:
detect), optical flow carries its landmarks, and every `refine_every` frames the engine's
own landmark model re-anchors them (the engine's optional `refine`; engines without it are
detected on every frame). Landmarks go through a One-Euro filter per track. A face that one
detection misses is kept (followed, or held where it was) for up to `max_missed` frames, so
a single missed detection never flashes the original face back. Tracks keep their ids
across frames; detections are matched to them by box overlap (or a small centre shift).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from itertools import count
from collections.abc import Sequence

import numpy as np

from plasticvision.engines.base import Engine, Refiner
from plasticvision.geometry.boxes import box_iou
from plasticvision.pipeline.motion import FaceSnapshot
from plasticvision.pipeline.smoothing import OneEuroFilter
from plasticvision.types import Face, Frame

DETECT_EVERY = 15  # half a second at 30 fps: new faces appear quickly, the cost stays small
REFINE_EVERY = 3  # the engine's landmark model re-anchors every third frame; optical flow in between
MAX_MISSED = 3  # frames a face is held while detection cannot find it
MATCH_MIN_IOU = 0.3
MATCH_MAX_CENTRE_SHIFT = 0.5  # of the face width, for faces that moved too far to overlap
MIN_TEMPLATE_MATCH = 0.6  # below this correlation the face was lost or covered: detect again
DUPLICATE_IOU = 0.6  # two tracks this much on top of each other follow one face: the older one stays


def match_score(track: Face, found: Face) -> float:
    """How well a detection continues a track: IoU, or a small centre shift when they do not overlap."""
    iou = box_iou(track.box, found.box)
    if iou >= MATCH_MIN_IOU:
        return 1.0 + iou
    shift = float(np.hypot(*np.subtract(track.centre, found.centre))) / max(track.width, 1.0)
    return 1.0 - shift if shift <= MATCH_MAX_CENTRE_SHIFT else 0.0


def associate(tracked: Sequence[Face], found: Sequence[Face]) -> list[tuple[int, int]]:
    """Greedy one-to-one pairs (track index, detection index), best match first."""
    scores = [(match_score(t, f), i, j) for i, t in enumerate(tracked) for j, f in enumerate(found)]
    pairs: list[tuple[int, int]] = []
    used_tracks: set[int] = set()
    used_found: set[int] = set()
    for score, i, j in sorted(scores, reverse=True):
        if score > 0 and i not in used_tracks and j not in used_found:
            pairs.append((i, j))
            used_tracks.add(i)
            used_found.add(j)
    return pairs


def face_points(face: Face) -> np.ndarray:
    """A face's box corners and landmarks as one point set, so one filter smooths them together."""
    parts = [face.box.reshape(2, 2), face.landmarks_5]
    if face.landmarks_68 is not None:
        parts.append(face.landmarks_68)
    return np.vstack(parts).astype(np.float32)


def face_from_points(points: np.ndarray, like: Face) -> Face:
    """The inverse of `face_points`: a face like `like` at the (smoothed) points."""
    return Face(
        box=points[:2].reshape(4).copy(),
        landmarks_5=points[2:7].copy(),
        score=like.score,
        landmarks_68=points[7:].copy() if like.landmarks_68 is not None else None,
    )


@dataclass
class Track:
    """One face followed across frames: its id, the last raw face, and its filter.

    `missed` counts frames in a row in which the face could not be found (it is held or
    bridged meanwhile); `held` counts frames since the filter last got a sample.
    """

    id: int
    raw: Face
    smoothed: Face
    missed: int = 0
    held: int = 0
    smoother: OneEuroFilter = field(default_factory=OneEuroFilter)
    snapshot: FaceSnapshot | None = None  # how the face looked in the last frame it was found in

    def update(self, face: Face, dt: float) -> None:
        self.raw = face
        self.smoothed = face_from_points(self.smoother(face_points(face), dt * (self.held + 1), face.width), face)
        self.held = 0

    def hold(self) -> None:
        self.missed += 1
        self.held += 1


class FaceTracker:
    """Per-stream face locator: full detection only when needed, refinement and smoothing in between."""

    def __init__(
        self,
        engine: Engine,
        *,
        fps: float = 30.0,
        detect_every: int = DETECT_EVERY,
        refine_every: int = REFINE_EVERY,
        max_missed: int = MAX_MISSED,
        smooth: bool = True,
    ) -> None:
        if fps <= 0 or detect_every < 1 or refine_every < 1 or max_missed < 0:
            raise ValueError("fps must be > 0, detect_every and refine_every >= 1, max_missed >= 0")
        self.engine = engine
        self._refiner = engine if isinstance(engine, Refiner) else None
        self.dt = 1.0 / fps  # frame-based time: a video swapped faster than real time filters the same
        self.detect_every = detect_every
        self.refine_every = refine_every
        self.max_missed = max_missed
        self.smooth = smooth
        self.tracks: list[Track] = []
        self._ids = count(1)
        self._key = uuid.uuid4().hex[:8]  # makes track ids unique across trackers (caches key on them)
        self._since_detect = 0
        self._must_detect = True
        self.detected = False  # whether the last `locate` ran full detection (masks on this cadence)

    def reset(self) -> None:
        """Forget every track (a new scene, a new video): the next frame runs full detection."""
        self.tracks = []
        self._must_detect = True

    def locate(self, frame: Frame) -> list[Face]:
        """The faces in this frame, one per track, in track order (stable across frames), with their `track_id`."""
        self._since_detect += 1
        self.detected = False
        if self._must_detect or self._since_detect >= self.detect_every or self._refiner is None:
            self._detect(frame)
        else:
            self._refine(frame, predict=self._since_detect % self.refine_every == 0)
        if self._refiner is not None:
            for track in self.tracks:
                if track.held == 0:
                    track.snapshot = FaceSnapshot.of(frame, track.raw)
        return [
            replace(
                track.smoothed if self.smooth else track.raw,
                track_id=f"{self._key}-{track.id}",
                seen_68=track.raw.landmarks_68,
            )
            for track in self.tracks
        ]

    def detections(self) -> list[Face]:
        """The faces as the last full detection found them (unsmoothed), with their tracks' ids, in
        track order: what a mask computed on the tracker's cadence should see, the same however the
        smoother got there (a video chunk's warm-up or a single pass)."""
        return [replace(track.raw, track_id=f"{self._key}-{track.id}") for track in self.tracks]

    def _detect(self, frame: Frame) -> None:
        found = self.engine.detect(frame)
        self.detected = True
        pairs = associate([t.raw for t in self.tracks], found)
        for i, j in pairs:
            self.tracks[i].update(found[j], self.dt)
            self.tracks[i].missed = 0
        matched = {i for i, _ in pairs}
        for i, track in enumerate(self.tracks):
            if i not in matched:
                self._bridge(frame, track)
        paired = {j for _, j in pairs}
        self.tracks += [self._start(face) for j, face in enumerate(found) if j not in paired]
        self._drop_lost()
        self._since_detect = 0
        self._must_detect = any(t.missed for t in self.tracks)

    def _start(self, face: Face) -> Track:
        track = Track(next(self._ids), face, face)
        track.update(face, self.dt)  # the first sample initialises the filter
        return track

    def _bridge(self, frame: Frame, track: Track) -> None:
        """Detection did not find this face: follow it by refinement, else hold it where it was."""
        refined = self._follow(frame, track, predict=True)
        if refined is None:
            track.hold()
        else:
            track.update(refined, self.dt)
            track.missed += 1

    def _refine(self, frame: Frame, predict: bool) -> None:
        """Follow every face; with no faces, or one lost or jumped, detect instead."""
        refined = [self._follow(frame, track, predict) for track in self.tracks]
        if not refined or any(face is None for face in refined):
            self._detect(frame)
            return
        for track, face in zip(self.tracks, refined):
            track.update(face, self.dt)
        self._drop_lost()

    def _follow(self, frame: Frame, track: Track, predict: bool) -> Face | None:
        """The track's face in this frame: found by its snapshot, then carried by optical flow,
        or (when `predict`, or when flow loses it) refined by the engine from where it went.

        None when the engine cannot refine, or the face no longer looks like itself (lost).
        """
        if self._refiner is None or track.snapshot is None:
            return None
        sighting = track.snapshot.find(frame)
        if sighting.confidence < MIN_TEMPLATE_MATCH:
            return None
        flowed = None if predict else track.snapshot.flow(sighting)
        return flowed or self._refiner.refine(frame, track.raw.translated(*sighting.shift))

    def _drop_lost(self) -> None:
        """Let go of faces missed too long, and of a track that ended up on an older track's face."""
        kept: list[Track] = []
        for track in self.tracks:
            duplicate = any(box_iou(track.raw.box, older.raw.box) > DUPLICATE_IOU for older in kept)
            if track.missed <= self.max_missed and not duplicate:
                kept.append(track)
        self.tracks = kept
