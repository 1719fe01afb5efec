"""Video in, video out: containers and codecs, timing, rotation, sound, labels, and no debris on failure."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.support.faces import distance, identity
from tests.support.video_clips import audio_duration_s, frame_times_s, make_clip, read_frames, top_level_boxes
from plasticvision import Settings
from plasticvision.errors import BadVideo
from plasticvision.media.images import SYNTHETIC_SOURCE_TYPE, SYNTHETIC_NOTE
from plasticvision.video.metadata import XMP_UUID
from plasticvision.video.process import Cancelled, process_video
from plasticvision.video.reader import VideoReader, probe
from plasticvision.video.swap import swap_video


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "mp4": make_clip(folder / "aac.mp4"),
        "webm": make_clip(folder / "opus.webm"),
        "mov": make_clip(folder / "pcm.mov", seconds=1.0),
        "vfr": make_clip(folder / "vfr.mp4", variable_rate=True, audio=False),
        "rotated": make_clip(folder / "rotated.mp4", rotation=90, seconds=1.0, audio=False),
    }


@pytest.fixture(scope="module")
def source_session(swapper, read_test_image):
    session = swapper.new_session()
    session.set_sources([read_test_image("Tom_Hanks_54745.png")])
    return session


@pytest.fixture(scope="module")
def swapped(clips, source_session, tmp_path_factory) -> dict[str, Path]:
    """Each clip swapped once, shared by the tests that only read the result."""
    folder = tmp_path_factory.mktemp("swapped")
    outputs = {}
    for name in ("mp4", "webm", "mov", "vfr", "rotated"):
        outputs[name] = folder / f"{name}.mp4"
        result = swap_video(source_session, Settings(), clips[name], outputs[name])
        assert result.frames_with_swap == result.progress.frames_done > 0
    return outputs


@pytest.mark.parametrize("name", ["mp4", "webm", "mov"])
def test_output_keeps_frames_rate_size_and_sound(clips, swapped, name):
    source, output = clips[name], swapped[name]
    with av.open(str(source)) as src, av.open(str(output)) as out:
        src_video, out_video = src.streams.video[0], out.streams.video[0]
        assert (out_video.width, out_video.height) == (src_video.width, src_video.height)
        assert out_video.codec_context.name == "h264"
        assert out_video.codec_context.pix_fmt == "yuv420p"
        assert float(out_video.average_rate) == pytest.approx(float(src_video.average_rate), rel=0.01)
        assert out.streams.audio and out.streams.audio[0].codec_context.name == "aac"
    assert len(read_frames(output)) == len(read_frames(source))
    assert audio_duration_s(output) == pytest.approx(audio_duration_s(source), abs=0.05)


def test_aac_sound_is_copied_untouched(clips, swapped):
    def packets(path: Path) -> list[bytes]:
        with av.open(str(path)) as container:
            return [bytes(p) for p in container.demux(audio=0) if p.size]

    assert packets(swapped["mp4"]) == packets(clips["mp4"])


def test_output_is_faststart_and_labelled_synthetic(swapped):
    boxes = top_level_boxes(swapped["mp4"])
    kinds = [kind for kind, _ in boxes]
    assert kinds.index(b"moov") < kinds.index(b"mdat"), "moov must come first for progressive playback"
    with av.open(str(swapped["mp4"])) as container:
        assert container.metadata["DigitalSourceType"] == SYNTHETIC_SOURCE_TYPE
        assert container.metadata["description"] == SYNTHETIC_NOTE
    xmp = [head for kind, head in boxes if kind == b"uuid" and head == XMP_UUID]
    assert xmp, "no XMP uuid box"
    assert b"compositeWithTrainedAlgorithmicMedia" in swapped["mp4"].read_bytes().split(XMP_UUID)[1]


def test_images_and_videos_carry_the_same_label(read_test_image, swapped):
    from plasticvision.media.images import encode_png

    png = encode_png(read_test_image("astronaut.png"))
    assert SYNTHETIC_SOURCE_TYPE.encode() in png and SYNTHETIC_NOTE.encode() in png
    assert SYNTHETIC_SOURCE_TYPE.encode() in swapped["mp4"].read_bytes()


def test_sampled_frames_look_like_the_source(swapper, read_test_image, clips, swapped):
    source_id = identity(swapper, read_test_image("Tom_Hanks_54745.png"))
    before, after = read_frames(clips["mp4"]), read_frames(swapped["mp4"])
    for index in (0, len(after) // 2, len(after) - 1):
        out_id = identity(swapper, after[index])
        assert distance(out_id, source_id) < distance(out_id, identity(swapper, before[index])), index


def test_variable_frame_rate_keeps_its_timestamps(clips, swapped):
    before, after = frame_times_s(clips["vfr"]), frame_times_s(swapped["vfr"])
    assert len(set(np.round(np.diff(before), 3))) > 1, "the test clip should have uneven gaps"
    assert after == pytest.approx(before, abs=0.002)


def test_rotation_is_applied_so_faces_are_upright(swapper, clips, swapped):
    info = probe(clips["rotated"])
    assert (info.rotation, info.width, info.height) == (90, 400, 300)
    with VideoReader(clips["rotated"]) as reader:
        first = next(iter(reader.frames())).image
    assert first.shape[:2] == (300, 400)
    assert swapper.detect(first), "an upright frame should show a face"
    with av.open(str(swapped["rotated"])) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (400, 300)
        assert next(container.decode(stream)).rotation == 0


def test_still_readers_say_what_they_found(clips):
    info = probe(clips["webm"])
    assert (info.width, info.height, info.fps, info.codec, info.audio_codec) == (400, 300, Fraction(15), "vp9", "opus")
    assert info.frames == 30


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp, clips: write(tmp / "empty.mp4", b""),
        lambda tmp, clips: write(tmp / "notes.mp4", b"this is not a video at all\n" * 40),
        lambda tmp, clips: write(tmp / "notes.txt", b"FFmpeg would render this as ANSI art\n" * 40),
        lambda tmp, clips: write(tmp / "truncated.mp4", clips["mp4"].read_bytes()[:3000]),
        lambda tmp, clips: write(tmp / "noise.webm", np.random.default_rng(1).bytes(20_000)),
        lambda tmp, clips: Path(__file__).parents[1] / "data" / "astronaut.png",
        lambda tmp, clips: tmp / "missing.mp4",
    ],
    ids=["empty", "text", "text-file", "truncated", "noise", "still-image", "missing"],
)
def test_bad_files_are_bad_videos(tmp_path, clips, make):
    path = make(tmp_path, clips)
    with pytest.raises(BadVideo, match=path.name):
        process_video(path, tmp_path / "out.mp4", lambda frame: frame)
    assert not (tmp_path / "out.mp4").exists()


def test_audio_only_file_is_not_a_video(tmp_path):
    path = tmp_path / "tone.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        from tests.support.video_clips import sine_frames

        stream = container.add_stream("aac", rate=48_000)
        stream.layout = "stereo"
        for frame in sine_frames(0.5):
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(BadVideo, match="no video stream"):
        probe(path)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_cancel_stops_and_leaves_no_file(tmp_path, clips):
    seen = []
    output = tmp_path / "out.mp4"
    with pytest.raises(Cancelled):
        process_video(clips["mp4"], output, lambda f: seen.append(1) or f, should_stop=lambda: len(seen) >= 5)
    assert len(seen) == 5
    assert leftovers(tmp_path) == []


def test_interrupt_mid_video_leaves_no_file(tmp_path, clips):
    """What Ctrl-C does: an exception out of the frame loop, and nothing left on disk."""
    calls = []

    def transform(frame):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return frame

    temp = tmp_path / "temp"
    temp.mkdir()
    with pytest.raises(KeyboardInterrupt):
        process_video(clips["webm"], tmp_path / "out.mp4", transform, temp_dir=temp)
    assert leftovers(tmp_path) == ["temp"] and leftovers(temp) == []


def test_progress_is_ordered_and_ends_done(clips, tmp_path):
    reports = []
    final = process_video(clips["mov"], tmp_path / "out.mp4", lambda f: f, on_progress=reports.append)
    stages = [r.stage for r in reports]
    assert stages[0] == "processing" and stages[-2:] == ["finalizing", "done"]
    frames = [r.frames_done for r in reports]
    assert frames == sorted(frames) and frames[-1] == final.frames_done == final.frames_total == 15
    assert final.fps > 0 and final.eta_s == 0


def test_encoder_falls_back_to_libx264_when_nvenc_cannot_open(monkeypatch):
    from plasticvision.video import writer as video_writer

    def no_gpu(name, mode):
        raise av.error.ExternalError(1, "no CUDA-capable device")

    monkeypatch.setattr(video_writer.av.CodecContext, "create", no_gpu)
    monkeypatch.setattr(video_writer.av, "codecs_available", {"h264_nvenc", "libx264"})
    video_writer.h264_encoder.cache_clear()
    try:
        assert video_writer.h264_encoder() == "libx264"
    finally:
        video_writer.h264_encoder.cache_clear()
