"""Face mapping on the dlib engine: A on X and B on Y, everyone else untouched, in images and a clip
where the two people cross; identities checked with the engine's own recognizer."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plasticvision import FaceSwapper, NoFaceFound, Settings
from plasticvision.engines.inswapper.engine import InswapperEngine
from plasticvision.pipeline.facemap import FaceMapState, TooManyPeople, UnknownIdentity
from plasticvision.pipeline.identities import BadIdentityName, Identity
from plasticvision.pipeline.mapper import AmbiguousReference, UnknownFace
from plasticvision.pipeline.matching import MATCH_THRESHOLDS
from plasticvision.pipeline.recognition import TrackRecognizer
from plasticvision.pipeline.tracking import FaceTracker
from plasticvision.video.swap import swap_video

import tests.support.onnx_fakes as fakes
from tests.support.onnx_fakes import smooth_frame
from tests.support.people import Crossing, backdrop, compose, distances, embedding_of, head, reference
from tests.support.video_clips import read_frames

SIDE = 200
LAYOUT = {"X": (20, 20), "Y": (250, 20), "Z": (135, 250)}  # three people, 30 px apart
SIZE = (470, 470)
NO_MOUTH = Settings(mouth_mask=False)  # the whole face is the source's: the clearest identity test


class CountingEngine:
    """The real dlib engine, counting how often its recognizer runs."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.embeds = 0

    def embed(self, frame, face):
        self.embeds += 1
        return self._engine.embed(frame, face)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


@pytest.fixture(scope="module")
def people(swapper: FaceSwapper) -> dict[str, np.ndarray]:
    """Each person's own embedding, from their head photo."""
    return {name: embedding_of(swapper.engine, head(name)) for name in "ABXYZ"}


@pytest.fixture()
def mapped(swapper: FaceSwapper):
    """A session with identities A and B, and the face map X -> A, Y -> B."""
    session = swapper.new_session()
    session.face_map.add_identity("A", [head("A")])
    session.face_map.add_identity("B", [head("B"), head("B", 260)])
    session.face_map.map_reference(reference("X"), "A")
    session.face_map.map_reference(reference("Y"), "B")
    return session


def centre(name: str) -> tuple[float, float]:
    x, y = LAYOUT[name]
    return x + SIDE / 2, y + SIDE / 2


def test_the_people_are_different_and_references_match_them(swapper, people):
    threshold = MATCH_THRESHOLDS["dlib"]
    names = sorted(people)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.linalg.norm(people[a] - people[b]) > threshold, (a, b)
    for name in "XY":
        assert np.linalg.norm(embedding_of(swapper.engine, reference(name)) - people[name]) < threshold


def test_each_mapped_person_gets_their_identity_and_the_third_stays_pixel_for_pixel(swapper, mapped, people):
    image = compose(LAYOUT, SIZE)
    report = mapped.swap(image, NO_MOUTH)
    assert report.faces_found == 3 and report.faces_swapped == 2
    assert sorted(identity for _, identity in report.swapped) == ["A", "B"]

    on_x = distances(swapper.engine, report.frame, centre("X"), people)
    assert on_x["A"] < on_x["B"] and on_x["A"] < on_x["X"], on_x
    on_y = distances(swapper.engine, report.frame, centre("Y"), people)
    assert on_y["B"] < on_y["A"] and on_y["B"] < on_y["Y"], on_y

    x, y = LAYOUT["Z"]
    z = np.s_[y - 25 :, x - 30 : x + SIDE + 30]  # Z's head and the margin around it
    np.testing.assert_array_equal(report.frame[z], image[z])


def test_the_mouth_mask_keeps_the_mapped_target_s_mouth(mapped):
    image = compose(LAYOUT, SIZE)
    with_mask = mapped.swap(image, Settings(mouth_mask=True)).frame
    without = mapped.swap(image, NO_MOUTH).frame
    x, y = LAYOUT["X"]
    mouth = np.s_[y + 125 : y + 150, x + 80 : x + 120]  # X's lips in the 200 px head
    def change(out: np.ndarray) -> float:
        return float(np.abs(out[mouth].astype(int) - image[mouth]).mean())

    assert change(with_mask) < change(without)


def test_swap_all_puts_the_default_sources_on_unmapped_people(swapper, mapped, people):
    mapped.set_sources([head("A")])
    image = compose(LAYOUT, SIZE)
    only_mapped = mapped.swap(image, NO_MOUTH)
    everyone = mapped.swap(image, Settings(mouth_mask=False, swap_all=True))
    assert only_mapped.faces_swapped == 2  # without swap_all the map decides alone
    assert everyone.faces_swapped == 3 and sorted(map(str, (i for _, i in everyone.swapped))) == ["A", "B", "None"]
    on_z = distances(swapper.engine, everyone.frame, centre("Z"), people)
    assert on_z["A"] < on_z["Z"], on_z


def test_without_a_face_map_the_session_swaps_as_before(swapper):
    session = swapper.new_session()
    session.face_map.add_identity("A", [head("A")])  # identities alone do not change the swap
    image = compose(LAYOUT, SIZE)
    assert session.swap(image).message == "no source face uploaded"
    session.set_sources([head("A")])
    report = session.swap(image)
    assert report.faces_swapped == 1 and report.swapped[0][1] is None


def test_a_map_nobody_matches_leaves_the_image_unchanged(mapped):
    image = compose({"Z": (30, 30)}, (260, 260))
    report = mapped.swap(image)
    assert report.unchanged and report.message == "no face matches the face map"
    np.testing.assert_array_equal(report.frame, image)


def test_picking_a_detected_face_maps_it_and_picking_it_again_reassigns(swapper, people):
    session = swapper.new_session()
    session.face_map.add_identity("A", [head("A")])
    session.face_map.add_identity("B", [head("B")])
    seen = session.face_map.detect(compose(LAYOUT, SIZE))
    assert [s.face.width for s in seen] == sorted((s.face.width for s in seen), reverse=True)
    leftmost = min(seen, key=lambda s: s.face.box[0])
    first = session.face_map.map_face(leftmost.id, "A")
    again = session.face_map.map_face(leftmost.id, "B")
    assert again.id == first.id and [p.identity for p in session.face_map.state.people] == ["B"]
    assert session.face_map.state.people[0].thumbnail.startswith(b"\xff\xd8")  # a JPEG to show the user
    with pytest.raises(UnknownFace):
        session.face_map.map_face("f-nope", "A")


def test_bad_references_and_names_are_refused(mapped):
    with pytest.raises(UnknownIdentity, match="'C'"):
        mapped.face_map.map_reference(reference("X"), "C")
    with pytest.raises(NoFaceFound, match="reference"):
        mapped.face_map.map_reference(backdrop(200, 200), "A")
    with pytest.raises(AmbiguousReference, match="2 faces"):
        mapped.face_map.map_reference(compose({"X": (0, 0), "Z": (220, 0)}, (420, 200)), "A")
    with pytest.raises(BadIdentityName):
        mapped.face_map.add_identity("../etc", [head("A")])
    with pytest.raises(NoFaceFound, match="source image 2 of 2"):
        mapped.face_map.add_identity("C", [head("Z"), backdrop(100, 100)])
    assert [i.name for i in mapped.face_map.state.identities] == ["A", "B"]  # all or nothing


def test_the_map_holds_a_bounded_number_of_people():
    state = FaceMapState(identities=(Identity("A", (), np.zeros(128, np.float32)),))
    for index in range(10):
        state, _ = state.with_person(np.eye(128, dtype=np.float32)[index], "A", threshold=0.6)
    with pytest.raises(TooManyPeople, match="at most 10"):
        state.with_person(np.eye(128, dtype=np.float32)[10], "A", threshold=0.6)
    state, unmapped = state.without_identity("A")
    assert len(unmapped) == 10 and not state.active and not state.identities


def test_a_saved_state_restores_into_another_session(swapper, mapped):
    other = swapper.new_session()
    other.face_map.restore(mapped.face_map.state)
    report = other.swap(compose(LAYOUT, SIZE), NO_MOUTH)
    assert sorted(identity for _, identity in report.swapped) == ["A", "B"]


def run_crossing(swapper: FaceSwapper, clip: Crossing):
    """The clip through a tracked session, as a stream or a video job runs it; the recognizer counted."""
    engine = CountingEngine(swapper.engine)
    session = FaceSwapper(engine).new_session()  # marked, as a stream runs: the mark stays off the inner face
    session.face_map.add_identity("A", [head("A")])
    session.face_map.add_identity("B", [head("B")])
    session.face_map.map_reference(reference("X"), "A")
    session.face_map.map_reference(reference("Y"), "B")
    engine.embeds = 0  # from here on, only recognitions of targets count
    tracker = FaceTracker(engine, fps=15)
    reports = [session.swap(clip.frame(i), NO_MOUTH, locate=tracker.locate) for i in range(clip.frames)]
    return session, engine, reports


def test_people_crossing_keep_their_identities_and_each_track_is_recognised_once(swapper, people):
    clip = Crossing()
    session, engine, reports = run_crossing(swapper, clip)
    expected = {"X": "A", "Y": "B"}
    tracks: dict[str, str] = {}
    swapped_frames: Counter[str] = Counter()
    for index, report in enumerate(reports):
        for face, identity in report.swapped:
            person = clip.who(index, face)
            assert identity == expected[person], f"frame {index}: {person} got {identity}"
            assert tracks.setdefault(face.track_id, person) == person, f"frame {index}: a track changed person"
            swapped_frames[person] += 1
    assert swapped_frames["X"] >= clip.frames - 4 and swapped_frames["Y"] == clip.frames  # X is hidden briefly
    assert engine.embeds == session.face_map.recognitions == len(tracks)  # once per track acquisition
    assert len(tracks) <= 3 < clip.frames

    for index in (0, clip.frames - 1):  # where the two are apart, the faces are the sources'
        frame, centres = reports[index].frame, clip.centres(index)
        on_x = distances(swapper.engine, frame, centres["X"], people)
        on_y = distances(swapper.engine, frame, centres["Y"], people)
        assert on_x["A"] < min(on_x["B"], on_x["X"]), (index, on_x)
        assert on_y["B"] < min(on_y["A"], on_y["Y"]), (index, on_y)


def test_a_track_sliding_onto_the_person_in_front_never_carries_its_identity_there(swapper):
    clip = Crossing(frames=60)  # slower: the hidden X's track drifts down onto Y's face as they pass
    session, engine, reports = run_crossing(swapper, clip)
    for index, report in enumerate(reports):
        for face, identity in report.swapped:
            assert identity == {"X": "A", "Y": "B"}[clip.who(index, face)], f"frame {index}"
    assert sum(len(r.swapped) for r in reports) >= 2 * clip.frames - 30  # X is hidden for a while
    # faces in contact are recognised on each frame of the contact only: still far from per frame
    assert engine.embeds == session.face_map.recognitions < clip.frames


def test_faces_in_contact_are_recognised_afresh_and_once_more_when_apart(swapper):
    image = compose({"X": (20, 20), "Y": (250, 20)}, (470, 240))
    x, y = sorted(swapper.engine.detect(image), key=lambda f: f.box[0])
    x, y = replace(x, track_id="t-1"), replace(y, track_id="t-2")
    touching = y.translated(x.box[0] - y.box[0] + 10, 0)  # Y's track box now on top of X's
    engine = CountingEngine(swapper.engine)
    recognizer = TrackRecognizer(engine)
    for faces, expected in (([x, y], 2), ([x, y], 0), ([x, touching], 2), ([x, touching], 2), ([x, y], 2), ([x, y], 0)):
        before = engine.embeds
        recognizer.embeddings(image, faces)
        assert engine.embeds - before == expected, [f.track_id for f in faces]
    assert recognizer.recognitions == engine.embeds == 8


def test_a_video_job_uses_the_session_s_face_map(swapper, mapped, people, tmp_path: Path):
    clip = Crossing(frames=16)
    source = clip.write(tmp_path / "crossing.mp4")
    result = swap_video(mapped, NO_MOUTH, source, tmp_path / "out.mp4")
    assert result.frames_with_swap == clip.frames
    frames = read_frames(tmp_path / "out.mp4")
    last = clip.frames - 1
    on_x = distances(swapper.engine, frames[last], clip.centres(last)["X"], people)
    on_y = distances(swapper.engine, frames[last], clip.centres(last)["Y"], people)
    assert on_x["A"] < min(on_x["B"], on_x["X"]), on_x
    assert on_y["B"] < min(on_y["A"], on_y["Y"]), on_y


def test_the_inswapper_engine_maps_faces_with_its_own_threshold(tmp_path: Path):
    face = fakes.face_at((320, 230), 64)
    fakes.build_models_dir(tmp_path, [face])
    models = tmp_path / "buffalo_l"
    engine = InswapperEngine(models / "det_10g.onnx", models / "w600k_r50.onnx", tmp_path / "inswapper_128.onnx")
    session = FaceSwapper(engine).new_session()
    frame = smooth_frame()
    session.face_map.add_identity("A", [frame])
    person = session.face_map.map_reference(frame, "A")
    assert session.face_map.threshold == MATCH_THRESHOLDS["inswapper"]
    assert person.embedding.shape == (512,)
    report = session.swap(frame, NO_MOUTH)
    assert [identity for _, identity in report.swapped] == ["A"]
    assert not np.array_equal(report.frame, frame)
