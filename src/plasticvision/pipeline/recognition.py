"""Recognition once per track: a tracked face's embedding is computed when its track starts.

Streams and videos follow faces with a `FaceTracker`, which gives each face a `track_id`
(unique across trackers). Recognising every face on every frame would cost a network pass
per face per frame, and would flip a person's identity whenever a frame shows them badly
(turned away, half hidden while someone walks past). So a track is recognised once, when
it is acquired; a face lost and found again gets a new track and is recognised again.
Faces without a track (still images) are recognised every time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from plasticvision.engines.base import Engine
from plasticvision.types import Embedding, Face, Frame

MEMO_TRACKS = 256  # per session: far more than the live tracks of its streams, so none is forgotten early


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
        with self._lock:
            return [self._embedding(frame, face) for face in faces]

    def _embedding(self, frame: Frame, face: Face) -> Embedding:
        key = face.track_id
        if key is not None and key in self._by_track:
            self._by_track.move_to_end(key)
            return self._by_track[key]
        embedding = self.engine.embed(frame, face)
        self.recognitions += 1
        if key is not None:
            self._by_track[key] = embedding
            while len(self._by_track) > self.capacity:
                self._by_track.popitem(last=False)
        return embedding
