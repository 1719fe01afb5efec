"""Several different people for the face-mapping tests: heads cut from tests/data/t1.jpg (a group
photo) plus the astronaut, composed side by side or walking across each other in a clip.

Chosen by the dlib recognizer: every pair below is more than 0.6 apart (different people).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from plasticvision.engines.base import Engine, identity_distance
from plasticvision.types import Embedding, Face, Frame

from tests.support.video_clips import load_face

T1_FACES = {  # dlib's face boxes in t1.jpg (x0, y0, x1, y1)
    "X": (59, 277, 174, 392),
    "B": (456, 302, 571, 418),
    "Z": (725, 354, 840, 469),
    "Y": (1109, 277, 1224, 392),
}
HEAD_PAD = 0.45  # of the face width on each side: hair, chin and some shoulder
HEAD_SIDE = 200


def head(name: str, side: int = HEAD_SIDE) -> Frame:
    """A square head crop of one person: the astronaut for "A", someone from t1.jpg otherwise."""
    if name == "A":
        return cv2.resize(load_face("astronaut.png"), (side, side), interpolation=cv2.INTER_AREA)
    x0, y0, x1, y1 = T1_FACES[name]
    pad = int((x1 - x0) * HEAD_PAD)
    crop = cv2.imread(str(Path(__file__).parents[1] / "data" / "t1.jpg"))[y0 - pad : y1 + pad, x0 - pad : x1 + pad]
    return cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)


def reference(name: str) -> Frame:
    """Another picture of the person (mirrored, at another size), as a user's reference photo would be."""
    return cv2.flip(head(name, 240), 1)


def backdrop(width: int, height: int) -> Frame:
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = np.linspace(40, 120, width, dtype=np.uint8)[None, :, None]
    return frame


def compose(placed: dict[str, tuple[int, int]], size: tuple[int, int], side: int = HEAD_SIDE) -> Frame:
    """The named heads pasted at their top-left corners on a plain backdrop; later names are in front."""
    frame = backdrop(*size)
    for name, (x, y) in placed.items():
        frame[y : y + side, x : x + side] = head(name, side)
    return frame


@dataclass(frozen=True)
class Crossing:
    """X walks left to right, Y right to left and in front of X, lower down: they cross once, mid-clip."""

    frames: int = 30
    size: tuple[int, int] = (480, 300)
    side: int = 150
    drop: int = 80  # Y's head is this much lower than X's: it covers X's chin as they pass

    def corners(self, index: int) -> dict[str, tuple[int, int]]:
        t = index / (self.frames - 1)
        travel = self.size[0] - self.side - 20
        return {"X": (int(10 + travel * t), 20), "Y": (int(10 + travel * (1 - t)), 20 + self.drop)}

    def centres(self, index: int) -> dict[str, tuple[float, float]]:
        return {name: (x + self.side / 2, y + self.side / 2) for name, (x, y) in self.corners(index).items()}

    def frame(self, index: int) -> Frame:
        return compose(self.corners(index), self.size, self.side)

    def who(self, index: int, face: Face) -> str:
        """The person whose head the face is on (the nearest head centre)."""
        centres = self.centres(index)
        return min(centres, key=lambda name: float(np.hypot(*np.subtract(face.centre, centres[name]))))

    def write(self, path: Path, fps: int = 15) -> Path:
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height = self.size
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "12"}
            for index in range(self.frames):
                frame = av.VideoFrame.from_ndarray(self.frame(index), format="bgr24")
                frame.pts, frame.time_base = index, Fraction(1, fps)
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
        return path


def face_near(engine: Engine, frame: Frame, centre: tuple[float, float]) -> Face:
    """The detected face closest to a point (a person's head centre)."""
    faces = engine.detect(frame)
    assert faces, "no face found in the frame"
    return min(faces, key=lambda face: float(np.hypot(*np.subtract(face.centre, centre))))


def embedding_of(engine: Engine, image: Frame) -> Embedding:
    face = max(engine.detect(image), key=lambda f: f.area)
    return engine.embed(image, face)


def distances(
    engine: Engine, frame: Frame, centre: tuple[float, float], people: dict[str, Embedding]
) -> dict[str, float]:
    """How far the face at `centre` is from each person, by the engine's own recognizer."""
    embedding = engine.embed(frame, face_near(engine, frame, centre))
    return {name: identity_distance(embedding, other) for name, other in people.items()}
