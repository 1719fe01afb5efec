"""What a chunked video must share with its single-pass twin, checked the same way for the local pool and Ray.

The bounds, measured on the test clip with the dlib engine (see README, "Multi-GPU"):
- frame count, every frame's timestamp, the duration and the audio packets are identical;
- with a lossless encoder, frames outside the first SETTLE_FRAMES after a join are identical but
  for rounding flips (at most ROUNDING_FLIP_PIXELS pixels, one level each; measured: none), and
  inside them no pixel differs by more than JOIN_MAX_LEVELS (measured: 4) and no frame's
  mean by more than JOIN_MEAN_LEVELS; with the default lossy encoder (each chunk's encoder starts
  its own GOP) every frame's mean difference stays under LOSSY_MEAN_LEVELS (measured: 1.5);
- the face (mean of the 68 landmarks found in the output) is within LANDMARK_PX (LOSSY_LANDMARK_PX) of where it is in
  the single pass around every join (measured: 0.06 px lossless, 0.65 px lossy), and its step
  across a join is no larger than the largest step between the frames around it.

Why not bit-identical everywhere: a chunk's tracker starts its smoothing filter fresh at the
warm-up, and the filter's state reaches the single pass's only exponentially, to within float32
rounding (1 ulp, ~3e-5 px, about 15 frames after the join on the test clip) and bit-identically
later (~30 frames). The render is deterministic (closed-form geometry, fixed-point warps at
1/32 px), so a 1-ulp landmark difference almost always gives the same pixels, but it can move one
rounding across a boundary: one level on a few pixels. Anything real (a wrong state, a face in
the wrong place) moves many pixels by many levels. (OpenCV 5.1 made such flips visible through
the LMedS similarity estimator, whose random sampling the dlib mesh used; it now uses the
closed-form least-squares similarity, and OpenCV 5.0 and 5.1 give the same frames.)
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from tests.support.video_clips import frame_times_s, make_clip, read_frames
from plasticvision import FaceSwapper
from plasticvision.media.images import SYNTHETIC_SOURCE_TYPE
from plasticvision.pipeline.session import SwapSession
from plasticvision.video.metadata import XMP_UUID
from plasticvision.video.swap import swap_video

FRAMES = 90  # the clip: 6 s at 15 fps, a keyframe every 10 frames; three chunks of 30 frames

SETTLE_FRAMES = 8
JOIN_CONTEXT = 4  # frames before a join whose landmarks are compared too
JOIN_MAX_LEVELS = 12
JOIN_MEAN_LEVELS = 0.1
ROUNDING_FLIP_PIXELS = 16  # channel values of one frame that may differ by one level outside the joins (see above)
LOSSY_MEAN_LEVELS = 2.5
LANDMARK_PX = 1.5
LOSSY_LANDMARK_PX = 2.5  # lossy output (Ray's default encoder): measured 0.65 px before the provenance mark,
# 1.86 and 1.94 px since, both on the last frame before a join (a chunk's encoder ends its GOP there) while
# the lossless checks of the same chunks stay bit-identical: the codec moves dlib's landmarks, not the chunking
LOSSLESS_X264 = {"preset": "ultrafast", "qp": "0"}


def chunk_clip(folder: Path) -> Path:
    return make_clip(folder / "clip.mp4", seconds=FRAMES / 15, fps=15, keyframe_every=10)


def hanks_session(swapper: FaceSwapper, hanks: np.ndarray) -> SwapSession:
    session = swapper.new_session()
    session.set_sources([hanks])
    return session


def single_pass(session: SwapSession, clip: Path, folder: Path) -> Path:
    swap_video(session, session.settings, clip, folder / "single.mp4")
    return folder / "single.mp4"


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(packet) for packet in container.demux(container.streams.audio[0]) if packet.size]


def duration(path: Path) -> tuple[int | None, int | None]:
    with av.open(str(path)) as container:
        return container.duration, container.streams.video[0].duration


def face_positions(swapper: FaceSwapper, frames: list[np.ndarray]) -> np.ndarray:
    positions = []
    for frame in frames:
        faces = swapper.detect(frame)
        assert faces, "the swapped face must be found in every frame"
        positions.append(faces[0].landmarks_68.mean(axis=0))
    return np.array(positions)


def join_frames(frame_counts: list[int]) -> list[int]:
    """The index of the first frame of every chunk after the first."""
    return list(np.cumsum(frame_counts)[:-1])


def assert_same_timing_and_sound(chunked: Path, single: Path) -> None:
    assert frame_times_s(chunked) == frame_times_s(single)
    assert duration(chunked) == duration(single)
    sound = audio_packets(chunked)
    assert sound and sound == audio_packets(single)  # muxed once, bit for bit
    with av.open(str(chunked)) as container:
        assert container.metadata["DigitalSourceType"] == SYNTHETIC_SOURCE_TYPE
    assert XMP_UUID in chunked.read_bytes()


def assert_differs_only_near_joins(chunked: Path, single: Path, joins: list[int], lossless: bool) -> None:
    near = {frame for join in joins for frame in range(join, join + SETTLE_FRAMES)}
    ours, theirs = read_frames(chunked), read_frames(single)
    assert len(ours) == len(theirs)
    for index, (a, b) in enumerate(zip(ours, theirs)):
        difference = np.abs(a.astype(np.int16) - b)
        if not lossless:
            assert difference.mean() < LOSSY_MEAN_LEVELS, f"frame {index}"
        elif index in near:
            assert difference.max() <= JOIN_MAX_LEVELS and difference.mean() <= JOIN_MEAN_LEVELS, f"frame {index}"
        else:
            flips = int(np.count_nonzero(difference))
            assert difference.max() <= 1 and flips <= ROUNDING_FLIP_PIXELS, (
                f"frame {index} is {difference.max()} levels off on {flips} values, {index} is not near a join"
            )


def assert_no_jump_at_joins(
    swapper: FaceSwapper, chunked: Path, single: Path, joins: list[int], bound_px: float = LANDMARK_PX
) -> None:
    """Around each join (from JOIN_CONTEXT frames before it to SETTLE_FRAMES after), where a jump would show."""
    ours, theirs = read_frames(chunked), read_frames(single)
    for join in joins:
        window = range(join - JOIN_CONTEXT, join + SETTLE_FRAMES)
        mine = face_positions(swapper, [ours[i] for i in window])
        reference = face_positions(swapper, [theirs[i] for i in window])
        offsets = np.linalg.norm(mine - reference, axis=1)
        assert offsets.max() <= bound_px, f"join at frame {join}: {offsets.round(2)}"
        steps = np.linalg.norm(np.diff(mine, axis=0), axis=1)  # steps[i]: window[i] -> window[i + 1]
        across = steps[JOIN_CONTEXT - 1]
        assert across <= np.delete(steps, JOIN_CONTEXT - 1).max(), f"the face jumps at the join at frame {join}"
