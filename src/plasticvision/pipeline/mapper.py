"""A session's face mapping at work: identities and the face map changed, and faces cast per frame.

`FaceMapper` holds the session's `FaceMapState` (frozen, snapshot-ready) plus what is only worth
keeping while the session lives: the faces of recent detections (so a face picked from a
detection result can be mapped by its id) and the per-track recognition memo. Each change is
told to the session's `journal` (a `FaceMapChange`) before it takes effect.

    mapper.add_identity("alice", [photo1, photo2])
    mapper.map_reference(photo_of_x, "alice")        # or mapper.map_face(face_id, "alice")
    casts = mapper.cast(frame, faces, swap_all=False, default_sources=())
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from collections.abc import Callable, Sequence

import cv2

from plasticvision.engines.base import Engine, SourceFace, still_detector
from plasticvision.errors import NoFaceFound, PlasticVisionError
from plasticvision.geometry.regions import Region
from plasticvision.media.images import encode_jpeg
from plasticvision.pipeline.facemap import FaceMapState, MappedPerson
from plasticvision.pipeline.frames import check_frame
from plasticvision.pipeline.identities import Identity, prepare_identity
from plasticvision.pipeline.matching import assign_people, match_threshold
from plasticvision.pipeline.recognition import TrackRecognizer
from plasticvision.types import Embedding, Face, Frame

RECENT_FACES = 64  # faces of recent detections kept for `map_face`, per session
THUMBNAIL_SIDE = 96


class UnknownFace(PlasticVisionError):
    type = "unknown_face"


class AmbiguousReference(PlasticVisionError):
    type = "ambiguous_reference"


@dataclass(frozen=True, eq=False)
class SeenFace:
    """A face from a detection, with the id a client can map it by."""

    id: str
    face: Face
    embedding: Embedding
    thumbnail: bytes

    def to_json(self) -> dict:
        return {"id": self.id, **self.face.to_json()}


@dataclass(frozen=True, eq=False)
class Cast:
    """One face to swap in a frame, with the sources to put on it (`identity` None: the default ones)."""

    face: Face
    sources: tuple[SourceFace, ...]
    identity: str | None


@dataclass(frozen=True, eq=False)
class FaceMapChange:
    """A new face-map state, with the photos of each identity it adds or replaces (None: removed)."""

    state: FaceMapState
    images: dict[str, tuple[Frame, ...] | None]


def thumbnail(frame: Frame, face: Face) -> bytes:
    """A small JPEG of the face with some room around it."""
    crop = frame[Region.around(face, frame.shape, 0.25).slices]
    scale = THUMBNAIL_SIDE / max(crop.shape[:2])
    if scale < 1:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return encode_jpeg(crop, 85)


def pick_targets(faces: Sequence[Face], swap_all: bool) -> list[Face]:
    """All faces, or only the largest one."""
    if not faces:
        return []
    return list(faces) if swap_all else [max(faces, key=lambda f: f.area)]


class FaceMapper:
    """Per session: identities, face map, recent detections and the recognition memo. Thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.state = FaceMapState()  # replaced whole on each change; safe to read without the lock
        self.recognizer = TrackRecognizer(engine)
        self._recent: OrderedDict[str, SeenFace] = OrderedDict()
        self._lock = threading.Lock()
        self.journal: Callable[[str, object], None] | None = None

    @property
    def threshold(self) -> float:
        """The engine's same-person distance (see `pipeline.matching.MATCH_THRESHOLDS`)."""
        return match_threshold(self.engine.name)

    @property
    def recognitions(self) -> int:
        return self.recognizer.recognitions

    def restore(self, state: FaceMapState) -> None:
        """Put back a saved state (identities and face map), e.g. one kept outside the process."""
        with self._lock:
            self.state = state

    def add_identity(self, name: str, images: Sequence[Frame]) -> Identity:
        """Prepares 1-10 photos of one person as `name` (replacing an identity of that name)."""
        identity = prepare_identity(self.engine, name, images)
        with self._lock:
            self._commit(self.state.with_identity(identity), {identity.name: tuple(images)})
        return identity

    def remove_identity(self, name: str) -> list[str]:
        """Deletes the identity; people mapped to it leave the map. Returns their ids."""
        with self._lock:
            state, unmapped = self.state.without_identity(name)
            self._commit(state, {name: None})
        return unmapped

    def map_reference(self, reference: Frame, identity: str, face_number: int | None = None) -> MappedPerson:
        """Maps the person in `reference` (a photo of them) to `identity`.

        The photo must show one face, or `face_number` says which (1 = the largest, the order
        `FaceSwapper.detect` and `plasticvision detect --json` list them in).
        """
        self.state.identity(identity)  # an unknown name fails before the detector runs
        reference = check_frame(reference)
        faces = sorted(still_detector(self.engine)(reference), key=lambda f: f.area, reverse=True)
        if not faces:
            raise NoFaceFound("no face found in the reference image")
        if face_number is None and len(faces) > 1:
            raise AmbiguousReference(
                f"the reference shows {len(faces)} faces; use a photo of one person, or pick a face from a detection"
            )
        index = (face_number or 1) - 1
        if not 0 <= index < len(faces):
            raise UnknownFace(f"face {face_number} asked for, but the reference shows {len(faces)} face(s)")
        face = faces[index]
        return self._map(self.engine.embed(reference, face), identity, thumbnail(reference, face))

    def map_face(self, face_id: str, identity: str) -> MappedPerson:
        """Maps a face from a recent `detect` of this session (by its id) to `identity`."""
        with self._lock:
            seen = self._recent.get(face_id)
        if seen is None:
            raise UnknownFace(f"no face {face_id!r} in this session's recent detections; detect the image again")
        return self._map(seen.embedding, identity, seen.thumbnail)

    def _map(self, embedding: Embedding, identity: str, picture: bytes) -> MappedPerson:
        with self._lock:
            state, person = self.state.with_person(embedding, identity, self.threshold, picture)
            self._commit(state)
        return person

    def unmap(self, person_id: str) -> None:
        with self._lock:
            self._commit(self.state.without_person(person_id))

    def clear(self) -> None:
        """No face map any more (identities stay)."""
        with self._lock:
            self._commit(self.state.cleared())

    def _commit(self, state: FaceMapState, images: dict[str, tuple[Frame, ...] | None] | None = None) -> None:
        """Journal, then apply (called holding the lock): a change the journal refuses never happens."""
        if self.journal is not None:
            self.journal("face_map", FaceMapChange(state, images or {}))
        self.state = state

    def detect(self, frame: Frame) -> list[SeenFace]:
        """Every face, largest first, each embedded and remembered under an id that `map_face` takes."""
        frame = check_frame(frame)
        faces = sorted(still_detector(self.engine)(frame), key=lambda f: f.area, reverse=True)
        seen = [
            SeenFace(f"f-{uuid.uuid4().hex[:10]}", face, self.engine.embed(frame, face), thumbnail(frame, face))
            for face in faces
        ]
        with self._lock:
            for item in seen:
                self._recent[item.id] = item
            while len(self._recent) > RECENT_FACES:
                self._recent.popitem(last=False)
        return seen

    def cast(
        self, frame: Frame, faces: Sequence[Face], swap_all: bool, default_sources: tuple[SourceFace, ...]
    ) -> list[Cast]:
        """Which faces to swap, and with whom.

        Without a face map: the largest face (or all, with `swap_all`) gets the default sources.
        With one: each face that matches a mapped person gets that person's identity; the
        others are left alone, unless `swap_all` is on and default sources are loaded, in which
        case they get those.
        """
        state = self.state
        if not state.active:
            targets = pick_targets(faces, swap_all) if default_sources else []
            return [Cast(face, default_sources, None) for face in targets]
        people = assign_people(self.recognizer.embeddings(frame, faces), state.people, self.threshold)
        casts = []
        for face, person in zip(faces, people, strict=True):
            if person is not None:
                identity = state.identity(person.identity)
                casts.append(Cast(face, identity.sources, identity.name))
            elif swap_all and default_sources:
                casts.append(Cast(face, default_sources, None))
        return casts
