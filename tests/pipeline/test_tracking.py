"""FaceTracker on scripted faces (detection only when needed, misses bridged, identities kept),
and the dlib engine's refinement on a real face."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import pytest

from plasticvision.engines.base import Refiner
from plasticvision.pipeline.tracking import FaceTracker
from plasticvision.types import Face, Frame

SHAPE = np.random.default_rng(0).uniform(-60, 60, (68, 2)).astype(np.float32)
PATTERNS = [
    cv2.GaussianBlur(np.random.default_rng(seed).integers(0, 255, (120, 120, 3)).astype(np.uint8), (0, 0), 3)
    for seed in range(3)
]


def face_at(x: float, y: float, pattern: int = 0) -> Face:
    points = (SHAPE + (x, y)).astype(np.float32)
    box = np.array([x - 60, y - 60, x + 60, y + 60], np.float32)
    return Face(box=box, landmarks_5=points[:5].copy(), score=0.9 + pattern / 100, landmarks_68=points)


def frame_for(index: int, faces: Sequence[Face] = ()) -> Frame:
    """A frame showing each face as its textured patch; it also carries its index, so the
    scripted engine knows which frame it sees."""
    frame = np.full((480, 640, 3), 100, np.uint8)
    for face in faces:
        x0, y0 = (int(round(v)) for v in face.box[:2])
        frame[y0 : y0 + 120, x0 : x0 + 120] = PATTERNS[round((face.score - 0.9) * 100)]
    frame[0, 0, :2] = divmod(index, 256)
    return frame


def index_of(frame: Frame) -> int:
    return int(frame[0, 0, 0]) * 256 + int(frame[0, 0, 1])


class ScriptedEngine:
    """Returns the scripted faces of each frame; `missing` frames hide them from detection,
    `lost` frames make refinement fail."""

    name = "scripted"
    supports_enhance = False

    def __init__(self, script: Sequence[Sequence[Face]], missing=(), lost=()) -> None:
        self.script, self.missing, self.lost = script, set(missing), set(lost)
        self.detected: list[int] = []
        self.refined: list[int] = []

    def detect(self, frame: Frame) -> list[Face]:
        index = index_of(frame)
        self.detected.append(index)
        return [] if index in self.missing else list(self.script[index])

    def refine(self, frame: Frame, face: Face) -> Face | None:
        index = index_of(frame)
        self.refined.append(index)
        if index in self.lost:
            return None
        return min(self.script[index], key=lambda f: np.hypot(*np.subtract(f.centre, face.centre)))


class DetectOnlyEngine(ScriptedEngine):
    refine = None  # type: ignore[assignment]


def still_script(frames: int) -> list[list[Face]]:
    return [[face_at(200, 150)] for _ in range(frames)]


def run(tracker: FaceTracker, frames: int, shown: Sequence[Sequence[Face]] | None = None) -> list[list[Face]]:
    """Locate faces in each frame; the frames show `shown` (by default the engine's script)."""
    shown = shown or tracker.engine.script  # type: ignore[attr-defined]
    return [tracker.locate(frame_for(i, shown[i])) for i in range(frames)]


def test_full_detection_only_on_first_frame_and_every_n():
    engine = ScriptedEngine(still_script(31))
    run(FaceTracker(engine, detect_every=10, refine_every=1), 31)
    assert engine.detected == [0, 10, 20, 30]
    assert len(engine.refined) == 31 - 4


def test_lost_refinement_detects_on_that_same_frame():
    engine = ScriptedEngine(still_script(8), lost={4})
    faces = run(FaceTracker(engine, detect_every=100, refine_every=1), 8)
    assert engine.detected == [0, 4]
    assert all(len(f) == 1 for f in faces)


def test_a_missed_detection_is_bridged_then_the_face_is_dropped():
    script = still_script(12)
    engine = ScriptedEngine(script, missing={5}, lost={5})
    faces = run(FaceTracker(engine, detect_every=5, max_missed=2), 7)
    assert [len(f) for f in faces] == [1] * 7  # frame 5: no detection, no refinement, still a face
    np.testing.assert_allclose(faces[5][0].landmarks_68, faces[4][0].landmarks_68)
    assert 6 in engine.detected  # a missed face is looked for again at once

    gone = ScriptedEngine([[face_at(200, 150)]] * 3 + [[]] * 5, lost=range(3, 8))
    counts = [len(f) for f in run(FaceTracker(gone, max_missed=2), 8)]
    assert counts == [1, 1, 1, 1, 1, 0, 0, 0]  # held for two misses, then let go


def test_each_track_keeps_its_identity_when_detections_come_in_any_order():
    frames = 40
    script = []
    for i in range(frames):  # two faces walking towards each other's side, listed in shuffled order
        a, b = face_at(100 + 8 * i, 150, pattern=1), face_at(420 - 8 * i, 330, pattern=2)
        script.append([a, b] if i % 3 else [b, a])
    tracker = FaceTracker(ScriptedEngine(script), detect_every=4, refine_every=1)
    ids_at_start = None
    for i in range(frames):
        tracker.locate(frame_for(i, script[i]))
        by_id = {t.id: t.raw.centre[1] for t in tracker.tracks}
        if ids_at_start is None:
            ids_at_start = {round(y): track_id for track_id, y in by_id.items()}
        assert by_id[ids_at_start[150]] == pytest.approx(150)
        assert by_id[ids_at_start[330]] == pytest.approx(330)
    assert len(tracker.tracks) == 2


def test_two_tracks_on_one_face_become_one():
    script = [[face_at(200, 150)]] * 3 + [[face_at(200, 150), face_at(204, 152)]] + [[face_at(200, 150)]] * 4
    engine = ScriptedEngine(script)  # frame 3: the detector reports one face twice, a few pixels apart
    tracker = FaceTracker(engine, detect_every=3, refine_every=1)
    run(tracker, 8, shown=[[face_at(200, 150)]] * 8)
    assert [t.id for t in tracker.tracks] == [1]


def test_new_faces_join_at_the_next_detection_without_disturbing_old_tracks():
    script = [[face_at(200, 150)]] * 5 + [[face_at(200, 150), face_at(450, 150, pattern=1)]] * 10
    tracker = FaceTracker(ScriptedEngine(script), detect_every=5, refine_every=1)
    run(tracker, 15)
    assert [t.id for t in tracker.tracks] == [1, 2]
    assert tracker.tracks[0].raw.centre == pytest.approx((200, 150))


def test_between_refinements_optical_flow_carries_the_landmarks():
    script = [[face_at(200 + 3 * i, 150 + 2 * i)] for i in range(12)]  # a textured face sliding
    engine = ScriptedEngine(script)
    tracker = FaceTracker(engine, detect_every=100, refine_every=3, smooth=False)
    faces = run(tracker, 12)
    assert engine.detected == [0]
    assert engine.refined == [3, 6, 9]  # the engine re-anchors every third frame, flow does the rest
    for truth, found in zip(script, faces):
        assert np.abs(found[0].landmarks_68 - truth[0].landmarks_68).max() < 0.25
        assert np.abs(found[0].box - truth[0].box).max() < 0.25


def test_engine_without_refine_is_detected_every_frame_and_still_smoothed():
    rng = np.random.default_rng(3)
    script = [[face_at(200 + rng.normal(0, 0.7), 150 + rng.normal(0, 0.7))] for _ in range(60)]
    engine = DetectOnlyEngine(script)
    assert not isinstance(engine, Refiner)
    faces = run(FaceTracker(engine), 60)
    assert engine.detected == list(range(60))
    raw = np.stack([s[0].landmarks_68 for s in script])
    smooth = np.stack([f[0].landmarks_68 for f in faces])
    acceleration = lambda track: np.abs(np.diff(track[10:], n=2, axis=0)).mean()  # noqa: E731
    assert acceleration(smooth) < 0.5 * acceleration(raw)


def test_trackers_do_not_share_state():
    script = still_script(3)
    first, second = FaceTracker(ScriptedEngine(script)), FaceTracker(ScriptedEngine(script))
    run(first, 3)
    assert second.tracks == []


@pytest.fixture(scope="module")
def engine(swapper):
    return swapper.engine


def shifted(image: np.ndarray, dx: float, dy: float, scale: float = 1.0) -> np.ndarray:
    matrix = np.array([[scale, 0, dx], [0, scale, dy]], np.float32)
    return cv2.warpAffine(image, matrix, (640, 480), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("dx, dy, scale", [(4, 3, 1.0), (10, -5, 1.0), (0, 0, 1.05)], ids=["small", "further", "zoom"])
def test_dlib_refine_follows_a_moved_face_like_a_fresh_detection(engine, read_test_image, dx, dy, scale):
    astronaut = read_test_image("astronaut.png")
    last = max(engine.detect(shifted(astronaut, 60, 0)), key=lambda f: f.area)
    after = shifted(astronaut, 60 + dx, dy, scale)
    fresh = max(engine.detect(after), key=lambda f: f.area)
    refined = engine.refine(after, last)
    assert refined is not None
    assert np.abs(refined.landmarks_68 - fresh.landmarks_68).mean() < 0.02 * fresh.width


def test_dlib_refine_gives_up_when_the_face_jumped_out_of_reach(engine, read_test_image):
    astronaut = read_test_image("astronaut.png")
    last = max(engine.detect(shifted(astronaut, 60, 0)), key=lambda f: f.area)
    assert engine.refine(shifted(astronaut, 85, -12), last) is None


def test_tracker_follows_a_sudden_jump_and_lets_go_of_a_vanished_face(engine, read_test_image):
    astronaut = read_test_image("astronaut.png")
    clip = [shifted(astronaut, 60, 0)] * 3 + [shifted(astronaut, 100, 0)] * 3 + [np.full((480, 640, 3), 90, np.uint8)] * 4
    tracker = FaceTracker(engine, detect_every=100, max_missed=2, smooth=False)
    located = [tracker.locate(frame) for frame in clip]
    fresh = max(engine.detect(clip[3]), key=lambda f: f.area)
    assert np.abs(located[3][0].landmarks_68 - fresh.landmarks_68).mean() < 0.02 * fresh.width
    assert [len(faces) for faces in located] == [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
