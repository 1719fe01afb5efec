"""A stream's crop-space occlusion and region masks: made on the stream's cadence, reused as the face moves.

The neural engine runs over synthetic ONNX models with the real interfaces (tests/support/onnx_fakes.py):
XSeg calls dark pixels occluded, BiSeNet labels an aligned face's parts by position. The calls counted
are the real model wrappers' onnxruntime runs. A moving face is a row of fake detectors, one per
frame, each reporting the face where that frame has it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.support import onnx_fakes as fakes
from tests.support.unmarked import unmarked
from plasticvision.api import FaceSwapper
from plasticvision.engines.inswapper.catalog_models import CatalogModel
from plasticvision.engines.inswapper.engine import InswapperEngine
from plasticvision.engines.inswapper.scrfd import ScrfdDetector
from plasticvision.models.store import ModelStore
from plasticvision.pipeline.crop_masks import MASK_EVERY, StreamCropMasks
from plasticvision.settings import Settings

CENTRE = (320.0, 240.0)
CPU = ["CPUExecutionProvider"]
MASKED = Settings(face_masks=["occlusion", "region"], mouth_mask=False, sharpness=0.0)
STEP = (3, 2)  # the head's motion per frame, x and y pixels: the bar moves past its own height within a cadence
FRAMES = 2 * MASK_EVERY + 2


class Counted:
    """Counts the onnxruntime runs of one model wrapper (the real run still happens)."""

    def __init__(self, model: CatalogModel) -> None:
        self.calls = 0
        self.run = model.run
        model.run = self  # type: ignore[method-assign]

    def __call__(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.calls += 1
        return self.run(feeds)


class MovingFace:
    """The engine's detector, replaced frame by frame with a fake SCRFD that reports the face at that frame's place."""

    def __init__(self, engine: InswapperEngine, root: Path) -> None:
        self.engine = engine
        self.detectors = [
            ScrfdDetector(fakes.build_scrfd(root / f"det_{i}.onnx", [fakes.face_at(self.centre(i), 64)]), CPU)
            for i in range(FRAMES)
        ]

    @staticmethod
    def centre(index: int) -> tuple[float, float]:
        return CENTRE[0] + STEP[0] * index, CENTRE[1] + STEP[1] * index

    def frame(self, index: int, base: np.ndarray) -> np.ndarray:
        self.engine.detector = self.detectors[index]
        return np.roll(base, (STEP[1] * index, STEP[0] * index), axis=(0, 1))


def textured() -> np.ndarray:
    """Texture, so the colour-matched flat swap differs from the target everywhere on the face."""
    stripes = (np.indices((480, 640)).sum(axis=0) // 8 % 2 * 50).astype(np.uint8)[:, :, None]
    return fakes.smooth_frame() + stripes


def bar_frame() -> tuple[np.ndarray, tuple[slice, slice]]:
    """The textured frame with a dark bar across the face below the eyes (a hand, a microphone), and the
    bar's inner part (clear of its soft edge)."""
    frame = textured()
    face = fakes.face_at(CENTRE, 64)
    eye_y, left, right = int(face.points[0, 1]), int(face.points[0, 0]), int(face.points[1, 0])
    frame[eye_y + 8: eye_y + 20, left - 10: right + 10] = 10
    return frame, (slice(eye_y + 12, eye_y + 16), slice(left + 2, right - 2))


def shifted(window: tuple[slice, slice], index: int) -> tuple[slice, slice]:
    rows, cols = window
    dy, dx = STEP[1] * index, STEP[0] * index
    return slice(rows.start + dy, rows.stop + dy), slice(cols.start + dx, cols.stop + dx)


@pytest.fixture
def swapper(tmp_path: Path) -> FaceSwapper:
    fakes.build_catalog_dir(tmp_path, [fakes.face_at(CENTRE, 64)])
    engine = InswapperEngine.from_store(ModelStore(tmp_path, checksums=False), providers=CPU)
    swapper = FaceSwapper(engine=engine)
    unmarked(swapper.default_session)
    swapper.set_sources([fakes.smooth_frame()])
    return swapper


def counters(swapper: FaceSwapper) -> tuple[Counted, Counted]:
    engine: InswapperEngine = swapper.engine  # type: ignore[assignment]
    return (Counted(engine.models.occluder(engine.occluder_name or "")),
            Counted(engine.models.parser(engine.parser_name or "")))


def test_a_stream_runs_the_occluder_and_parser_only_on_its_cadence(swapper: FaceSwapper) -> None:
    occluder, parser = counters(swapper)
    frame, _ = bar_frame()
    stream = swapper.stream(MASKED)
    for _ in range(FRAMES):
        stream.swap(frame)
    made = -(-FRAMES // MASK_EVERY)  # frames 0, 5, 10 of 12
    assert (occluder.calls, parser.calls) == (made, made)

    every_frame = swapper.stream(MASKED, mask_every=1)
    for _ in range(3):
        every_frame.swap(frame)
    assert (occluder.calls, parser.calls) == (made + 3, made + 3)

    swapper.swap(frame, MASKED)  # a still makes its masks afresh, FaceFusion's way
    swapper.swap(frame, MASKED)
    assert (occluder.calls, parser.calls) == (made + 5, made + 5)

    stream.reset()  # a new scene: the next frame makes its masks afresh, off the cadence
    stream.swap(frame)
    assert occluder.calls == made + 6


def test_a_reused_mask_keeps_the_bar_in_front_as_the_face_moves(swapper: FaceSwapper, tmp_path: Path) -> None:
    moving = MovingFace(swapper.engine, tmp_path)  # type: ignore[arg-type]
    base, inner = bar_frame()
    stream = swapper.stream(MASKED)
    for index in range(FRAMES):
        frame = moving.frame(index, base)
        out = stream.swap(frame).frame
        bar = shifted(inner, index)
        assert np.abs(out[bar].astype(int) - frame[bar]).max() <= 2, f"frame {index}: the bar was painted over"
        nose = tuple(int(v) for v in fakes.face_at(moving.centre(index), 64).points[2])
        assert np.abs(out[nose[1], nose[0]].astype(int) - frame[nose[1], nose[0]]).max() > 20, f"frame {index}"
    # the bar moved past its own height since the mask was made: a mask kept in frame pixels would miss it
    assert STEP[1] * (MASK_EVERY - 1) > inner[0].stop - inner[0].start


def test_two_streams_never_share_masks(swapper: FaceSwapper) -> None:
    occluder, _ = counters(swapper)
    with_bar, inner = bar_frame()
    without_bar = textured()  # the same face, nothing in front of it
    first, second = swapper.stream(MASKED), swapper.stream(MASKED)
    kept = first.swap(with_bar).frame
    painted = second.swap(without_bar).frame
    assert occluder.calls == 2  # each stream made its own
    assert np.abs(kept[inner].astype(int) - with_bar[inner]).max() <= 2
    assert np.abs(painted[inner].astype(int) - without_bar[inner]).mean() > 20  # not the other stream's bar
    assert np.abs(first.swap(without_bar).frame[inner].astype(int) - without_bar[inner]).max() <= 2  # its own, reused


def test_warm_up_frames_leave_the_masks_a_single_pass_would_have(swapper: FaceSwapper, tmp_path: Path) -> None:
    """A video chunk follows its warm-up frames without swapping them; its first swapped frames must reuse
    masks made on the same frame as in a single pass, so the chunk matches it around the join."""
    moving = MovingFace(swapper.engine, tmp_path)  # type: ignore[arg-type]
    base, _ = bar_frame()
    start = MASK_EVERY + 2  # the join falls inside a mask generation
    frames: Callable[[int], np.ndarray] = lambda index: moving.frame(index, base)
    single = swapper.stream(MASKED)
    expected = [single.swap(frames(index)).frame for index in range(FRAMES)]
    chunk = swapper.stream(MASKED)
    for index in range(start):
        chunk.follow(frames(index))
    for index in range(start, FRAMES):
        assert np.array_equal(chunk.swap(frames(index)).frame, expected[index]), f"frame {index}"


def test_the_mask_cadence_divides_the_trackers() -> None:
    with pytest.raises(ValueError, match="divide"):
        StreamCropMasks(4)


def test_bisenet_on_the_dlib_engine_keeps_the_same_cadence(tmp_path: Path, read_test_image) -> None:  # type: ignore[no-untyped-def]
    from plasticvision.engines.base import ParsingEngine
    from plasticvision.engines.inswapper.crop_maskers import NeuralParser
    from plasticvision.engines.select import load_dlib
    from plasticvision.geometry.warp import WARP_TEMPLATES

    fakes.build_bisenet(tmp_path / "bisenet_resnet_34.onnx", WARP_TEMPLATES["arcface_128"])
    engine = load_dlib(ModelStore(tmp_path, checksums=False))
    assert isinstance(engine, ParsingEngine) and isinstance(engine.parser, NeuralParser)
    parser = Counted(engine.parser.model)
    swapper = FaceSwapper(engine=engine)
    swapper.set_sources([read_test_image("Tom_Hanks_54745.png")])
    target = read_test_image("astronaut.png")
    stream = swapper.stream(Settings(face_masks=["region"]))
    for _ in range(MASK_EVERY + 1):
        stream.swap(target)
    assert parser.calls == 2  # frames 0 and 5
    swapper.swap(target, Settings(face_masks=["region"]))
    assert parser.calls == 3  # a still: afresh
