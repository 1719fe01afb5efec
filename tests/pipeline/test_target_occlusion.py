"""Things in front of the TARGET face stay in front of the swap (dlib engine, no weights): thin glasses
frames, a pen and a finger-like skin-coloured bar drawn at the target's own landmarks
(tests/target_occluders.py) are kept, the identity is still the source's, the eyes behind the glasses
are not tinted, and on a stream the mask follows the tracker's cadence and moves with the face."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import tests.support.hard_cases as hc
import tests.support.target_occluders as to
from tests.support.faces import distance, on_canvas
from tests.support.people import head
from plasticvision import Settings
from plasticvision.geometry.align import face_in_region
from plasticvision.engines.base import Occluder, occluder_of
from plasticvision.geometry.regions import Region
from plasticvision.pipeline.occlusion import SLACK, Computed, TrackedOcclusion

OCCLUDERS = {"glasses": to.with_glasses, "pen": to.with_pen, "finger": to.with_finger}
KEPT = 0.9
FLICKER_LEVELS = 15.0


def largest_face(swapper, frame):
    """The fast detector's largest face: the tests swap with it too (`locate`), to stay fast."""
    faces = swapper.engine.detect(frame)
    assert faces, "no face found"
    return max(faces, key=lambda face: face.area)


def identity(swapper, frame):
    return swapper.engine.embed(frame, largest_face(swapper, frame))


@pytest.fixture(scope="module")
def pairs(read_test_image) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (source, target): the two portraits both ways, and a person from the group photo."""
    astronaut, hanks = read_test_image("astronaut.png"), read_test_image("Tom_Hanks_54745.png")
    return {
        "hanks>astronaut": (hanks, astronaut),
        "astronaut>hanks": (astronaut, on_canvas(hanks, 300, (170, 90))),
        "hanks>t1-Y": (hanks, head("Y", 300)),
    }


@pytest.fixture(scope="module")
def swaps(swapper, pairs) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(pair, occluder) -> (target with the occluder, its drawn pixels, the output): each swapped once."""
    done = {}
    for name, (source, target) in pairs.items():
        session = swapper.new_session()
        session.set_sources([source])
        face = largest_face(swapper, target)
        for kind, draw in OCCLUDERS.items():
            covered, drawn = draw(target, face)
            report = session.swap(covered, Settings(), locate=swapper.engine.detect)
            assert report.faces_swapped == 1
            done[name, kind] = (covered, drawn, report.frame)
    return done


@pytest.mark.parametrize("kind", OCCLUDERS)
@pytest.mark.parametrize("pair", ["hanks>astronaut", "astronaut>hanks", "hanks>t1-Y"])
def test_what_is_in_front_of_the_target_face_stays_in_front(swapper, swaps, pair, kind):
    covered, drawn, out = swaps[pair, kind]
    face = largest_face(swapper, covered)
    assert to.kept_share(covered, out, drawn, face) >= KEPT
    # and the face around it is swapped: the output differs from the target away from the drawing
    skin = to.inside_face(face, covered.shape) & ~cv2.dilate(drawn.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert np.abs(out.astype(int) - covered.astype(int))[skin].mean() > 6


def metal_glasses(image, face):
    return to.with_glasses(image, face, thickness=1 / 90)


HARDER = {  # target (made from a photo) -> the occluders tried on it, each swapped with the other portrait as source
    "hanks at 420 px": ("astronaut", lambda images: on_canvas(images["hanks"], 420, (110, 30)), ("glasses", "metal", "pen")),
    "hanks turned": ("astronaut", lambda images: hc.turned(on_canvas(images["hanks"], 300, (170, 90)), 0.3), ("glasses", "metal")),
    "t1-B, squinting": ("hanks", lambda images: head("B", 300), ("glasses", "metal", "pen")),
    "t1-Z": ("hanks", lambda images: head("Z", 300), ("metal",)),
}


@pytest.mark.parametrize("case", HARDER)
def test_glasses_and_pens_stay_on_harder_targets(swapper, read_test_image, case):
    """Beyond the three pairs: a face wider than the occluder's working size, a turned head, a squinting
    smile whose eye landmarks sit on the rims, and thin metal frames."""
    images = {"hanks": read_test_image("Tom_Hanks_54745.png"), "astronaut": read_test_image("astronaut.png")}
    source, make, kinds = HARDER[case]
    target = make(images)
    session = swapper.new_session()
    session.set_sources([images[source]])
    face = largest_face(swapper, target)
    for kind in kinds:
        covered, drawn = (metal_glasses if kind == "metal" else OCCLUDERS[kind])(target, face)
        out = session.swap(covered, Settings(), locate=swapper.engine.detect).frame
        assert to.kept_share(covered, out, drawn, largest_face(swapper, covered)) >= KEPT, kind


SMALL_FACE_IN_GLASSES = pytest.mark.xfail(
    strict=True,
    reason="known limit: on the astronaut's 93 px face the kept frames outweigh the swapped inner face in dlib's "
    "recognizer (0.61 to the source, 0.56 to her); even a mask of exactly the drawn pixels, nothing kept around "
    "them, leaves the output closer to her (0.569 to the source, 0.560 to her), so no occlusion mask can pass it",
)


@pytest.mark.parametrize("kind", OCCLUDERS)
@pytest.mark.parametrize("pair", ["hanks>astronaut", "astronaut>hanks"])
def test_the_identity_is_still_the_source_s(swapper, pairs, swaps, pair, kind, request):
    """Closer to the source than to the target (the recognizer's own distance), each of them wearing the
    same thing: glasses alone move a face 0.43 in dlib's space, so only like can be compared with like."""
    if (pair, kind) == ("hanks>astronaut", "glasses"):
        request.applymarker(SMALL_FACE_IN_GLASSES)
    source, target = pairs[pair]
    out = identity(swapper, swaps[pair, kind][2])
    source_too = OCCLUDERS[kind](source, largest_face(swapper, source))[0]
    target_too = swaps[pair, kind][0]
    assert distance(out, identity(swapper, source_too)) < distance(out, identity(swapper, target_too))


def test_eyes_behind_glasses_are_not_tinted_or_bruised(swapper, swaps):
    """Inside the lenses the eyes and sockets keep the target's hue: no blue-purple smear, no orange ring."""
    for pair in ("hanks>astronaut", "hanks>t1-Y"):
        covered, drawn, out = swaps[pair, "glasses"]
        face = largest_face(swapper, covered)
        assert hc.eye_tint(covered, out, face) < 2.0
        lenses = np.zeros(covered.shape[:2], np.uint8)
        cv2.fillPoly(lenses, [np.round(rim).astype(np.int32) for rim in to.lens_rims(face)], 1)
        inside = (lenses > 0) & ~cv2.dilate(drawn.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        lab_in, lab_out = (cv2.cvtColor(image, cv2.COLOR_BGR2LAB).astype(np.float32)[inside] for image in (covered, out))
        shift = np.abs(lab_out[:, 1:].mean(axis=0) - lab_in[:, 1:].mean(axis=0))
        assert shift.max() < 4.0, f"{pair}: lens area a*/b* shifted by {shift.round(1).tolist()}"


def test_a_plain_target_keeps_almost_all_its_face_for_the_swap(swapper, pairs):
    """Few false alarms: on targets with nothing in front, the occluder leaves the inner face to the swap."""
    occluder = occluder_of(swapper.engine)
    assert isinstance(occluder, Occluder)
    for name, (_, target) in pairs.items():
        face = largest_face(swapper, target)
        region = Region.around(face, target.shape, 0.3)
        visible = occluder.visible(target[region.slices], face_in_region(face, region))
        assert visible.dtype == np.float32 and visible.shape == (region.height, region.width)
        inner = np.zeros(visible.shape, np.uint8)
        points = face_in_region(face, region).landmarks_68
        cv2.fillPoly(inner, [np.round(points[[1, 28, 15, 12, 8, 4]]).astype(np.int32)], 1)
        assert visible[inner > 0].mean() > 0.9, name  # hanks: 0.93 (his nose's shadow, a lit jaw)


def test_a_mask_moved_with_the_face_lands_where_it_would_be_computed():
    """The warp between tracker cadences: a similarity motion of the landmarks carries the mask exactly."""
    rng = np.random.default_rng(3)
    points = rng.uniform(40, 120, (68, 2)).astype(np.float32)
    mask = np.ones((160, 160), np.float32)
    cv2.line(mask, (40, 60), (120, 70), 0.0, 3)
    angle, scale, shift = np.radians(8), 1.1, np.array([15.0, -6.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved_points = (points @ rotation.T + shift).astype(np.float32)
    last = Computed(mask, np.array([10, 20], np.float32), points + (10, 20))
    moved = TrackedOcclusion.moved(last, 5, 5, (200, 200), moved_points + (10, 20))
    expected = cv2.warpAffine(mask, np.hstack([rotation, (shift + (5, 15))[:, None]]), (200, 200), borderValue=1.0)
    expected = cv2.erode(expected, SLACK)  # the slack for the landmarks' jitter
    assert moved is not None and np.abs(moved - expected).max() < 0.02


class CountingOccluder:
    """The engine's occluder, counting its calls."""

    def __init__(self, occluder: Occluder) -> None:
        self.occluder = occluder
        self.calls = 0

    def visible(self, region, face):
        self.calls += 1
        return self.occluder.visible(region, face)


def glasses_clip(swapper, photo, frames: int = 36):
    """The photo with glasses drawn at its landmarks, swaying, nodding and zooming in a 640x480 clip
    (a similarity per frame, so the frames move exactly with the face); each frame's drawn pixels too."""
    face = largest_face(swapper, photo)
    covered, drawn = to.with_glasses(photo, face)
    clip = []
    for index in range(frames):
        t = index / 30.0
        scale = 1.6 + 0.2 * np.sin(2 * np.pi * t / 2.0)
        angle = np.radians(6 * np.sin(2 * np.pi * t / 1.5))
        centre = np.array([320 + 50 * np.sin(2 * np.pi * t / 2.4), 220 + 15 * np.sin(2 * np.pi * t / 1.7)])
        rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        matrix = np.hstack([rotation, (centre - rotation @ np.asarray(face.centre, np.float64))[:, None]])
        frame = cv2.warpAffine(covered, matrix, (640, 480), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        pixels = cv2.warpAffine(drawn.astype(np.float32), matrix, (640, 480)) > 0.5
        clip.append((frame, pixels))
    return clip


def drawn_grey(frame, drawn):
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)[drawn]


@pytest.mark.parametrize("who", ["astronaut", "t1-B"])
def test_glasses_on_a_moving_face_are_kept_in_every_frame_without_flicker(swapper, read_test_image, who):
    """Through a live stream (the tracker, masks on its cadence and moved between): every frame keeps
    the frames, and what the output does on the frames' pixels from frame to frame is what the input
    does there (they move with the face), not a mask switching on and off."""
    photo = read_test_image("astronaut.png") if who == "astronaut" else head("B", 300)
    session = swapper.new_session()
    session.set_sources([read_test_image("Tom_Hanks_54745.png")])
    stream = session.stream(Settings())
    counting = CountingOccluder(stream.occlusion.occluder)
    stream.occlusion.occluder = counting
    kept, changes, detections, last = [], [], 0, None
    for frame, drawn in glasses_clip(swapper, photo):
        report = stream.swap(frame)
        detections += stream.tracker.detected
        assert report.faces_swapped == 1
        kept.append(to.kept_share(frame, report.frame, drawn, report.swapped[0][0]))
        if last is not None:
            both = drawn & last[2] & to.inside_face(report.swapped[0][0], frame.shape)
            moved_in = np.abs(drawn_grey(frame, both) - drawn_grey(last[0], both)).mean()
            moved_out = np.abs(drawn_grey(report.frame, both) - drawn_grey(last[1], both)).mean()
            changes.append(moved_out - moved_in)
        last = (frame, report.frame, drawn)
    assert min(kept) >= KEPT, [round(k, 3) for k in kept]
    assert np.abs(np.diff(kept)).max() < 0.08, [round(k, 3) for k in kept]  # no flicker from frame to frame
    # On the frames' pixels the output changes between frames as the input does, give or take what the
    # landmark model's own jitter moves the mask by (measured: at most 5.6 levels more, astronaut frame 20;
    # a frame's mask lost for one frame would be ~140 levels over its share).
    assert max(changes) < FLICKER_LEVELS, [round(float(c), 2) for c in changes]
    assert counting.calls == detections  # masks on the tracker's cadence, moved with the face between
