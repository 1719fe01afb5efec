"""Recognition once per track: a tracked face's embedding is computed when its track starts.

Streams and videos follow faces with a `FaceTracker`, which gives each face a `track_id`
(unique across trackers). Recognising every face on every frame would cost a network pass
per face per frame, and would flip a person's identity whenever a frame shows them badly
(turned away, half hidden while someone walks past). So a track is recognised once, when
it is acquired; a face lost and found again gets a new track and is recognised again.
Faces without a track (still images) are recognised every time.

One exception: while two tracked faces overlap (`CONTACT_IOU`), a tracker can slide from a
hidden face onto the one in front of it. Such faces are recognised afresh on each frame of
the contact (that frame only), and once more when it ends, so a track that slid onto
someone else never carries the first person's identity onto them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from plasticvision.engines.base import Engine
from plasticvision.geometry.boxes import box_iou
from plasticvision.types import Embedding, Face, Frame

MEMO_TRACKS = 256  # per session: far more than the live tracks of its streams, so none is forgotten early
CONTACT_IOU = 0.2  # two faces' boxes overlap this much: one may be hiding the other


def in_contact(faces: Sequence[Face]) -> list[bool]:
    """For each face, whether it overlaps another face of the frame by `CONTACT_IOU` or more."""
    return [
        any(j != i and box_iou(face.box, other.box) >= CONTACT_IOU for j, other in enumerate(faces))
        for i, face in enumerate(faces)
    ]


class TrackRecognizer:
    """Embeddings by track id, least recently seen dropped first; counts recognitions."""

    def __init__(self, engine: Engine, capacity: int = MEMO_TRACKS) -> None:
        self.engine = engine
        self.capacity = capacity
        self.recognitions = 0  # recognizer passes so far: what "once per acquisition" is checked by
        self._by_track: OrderedDict[str, Embedding] = OrderedDict()
        self._lock = threading.Lock()

    def embeddings(self, frame: Frame, faces: Sequence[Face]) -> list[Embedding]:
        """Each face's embedding, from the memo when its track was recognised before.

        The lock is held while embedding, so two frames of one stream in flight at once do
        not both recognise a new track.
        """
        contact = in_contact(faces)
        with self._lock:
            return [self._embedding(frame, face, touching) for face, touching in zip(faces, contact, strict=True)]

    def _embedding(self, frame: Frame, face: Face, touching: bool) -> Embedding:
        key = face.track_id
        if key is not None and touching:
            self._by_track.pop(key, None)  # when the contact is over: who is this track now?
            return self._recognise(frame, face)  # for this frame only: the face may be half hidden
        if key is not None and key in self._by_track:
            self._by_track.move_to_end(key)
            return self._by_track[key]
        embedding = self._recognise(frame, face)
        if key is not None:
            self._by_track[key] = embedding
            while len(self._by_track) > self.capacity:
                self._by_track.popitem(last=False)
        return embedding

    def _recognise(self, frame: Frame, face: Face) -> Embedding:
        self.recognitions += 1
        return self.engine.embed(frame, face)
