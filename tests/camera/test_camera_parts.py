"""The camera command's parts on their own: OpenCV capture keeps only the newest frame, a paced file
plays in real time and skips what a slow consumer misses, the loop's counts add up."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

from tests.support.optional_parts import need_module
from tests.support.video_clips import make_clip
from plasticvision.camera.loop import StatusLine, run_stream
from plasticvision.camera.sinks import NullSink
from plasticvision.camera.sources import CaptureSource, FileSource, fit, open_source, parse_size
from plasticvision.errors import DeviceUnavailable

FPS = 15


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("parts") / "clip.mp4", size=(320, 240), fps=FPS, seconds=1.0, audio=False)


class SlowSwapper:
    """Passes frames through, taking `delay_s` for each, as a slow machine would."""

    in_flight = 0

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.done = []

    def send(self, frame, *, wait):
        time.sleep(self.delay_s)
        self.done.append(frame)

    def ready(self):
        done, self.done = self.done, []
        return done

    finish = ready

    def describe(self):
        return "slow"

    def close(self):
        pass


def test_opencv_capture_keeps_the_newest_frame_and_counts_the_rest(clip):
    """OpenCV reads a file as fast as it can decode, like a camera that does not wait: a consumer
    slower than that sees only some frames, and every other one is counted as dropped."""
    source = CaptureSource(str(clip), size=(160, 120), fps=None)
    try:
        seen = []
        for frame in source.frames():
            seen.append(frame)
            time.sleep(0.05)
    finally:
        source.close()
    assert seen and all(frame.image.shape == (120, 160, 3) for frame in seen)
    assert len(seen) + source.dropped == FPS
    assert source.dropped > 0
    assert all(a.captured < b.captured for a, b in zip(seen, seen[1:]))


def test_a_missing_camera_is_a_clear_error():
    with pytest.raises(DeviceUnavailable, match="camera 9 could not be opened"):
        open_source("9", None, None, paced=True)


def test_a_paced_file_plays_in_real_time(clip):
    source = FileSource(clip, None, paced=True)
    started = time.monotonic()
    frames = list(source.frames())
    elapsed = time.monotonic() - started
    source.close()
    assert len(frames) == FPS and source.dropped == 0
    assert elapsed >= (FPS - 1) / FPS * 0.95
    assert [round(f.time_s * FPS) for f in frames] == list(range(FPS))


def test_a_paced_file_skips_what_a_slow_swapper_misses_and_the_counts_add_up(clip):
    source = FileSource(clip, None, paced=True)
    out = io.StringIO()
    totals = run_stream(source, SlowSwapper(3 / FPS), NullSink(), StatusLine(out))
    source.close()
    assert totals.frames_in == FPS
    assert 0 < totals.frames_out < FPS and totals.dropped == FPS - totals.frames_out == source.dropped
    assert out.getvalue().startswith(f"{FPS} frames in, {totals.frames_out} out, {totals.dropped} dropped")


def test_an_unpaced_file_gives_every_frame_whatever_the_swapper_takes(clip):
    source = FileSource(clip, None, paced=False)
    totals = run_stream(source, SlowSwapper(0.02), NullSink(), StatusLine(io.StringIO()))
    source.close()
    assert (totals.frames_in, totals.frames_out, totals.dropped) == (FPS, FPS, 0)


@pytest.mark.parametrize(("text", "size"), [("640x480", (640, 480)), ("1280X720", (1280, 720))])
def test_sizes_parse(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["640", "641x480", "0x0", "axb", "8192x8192"])
def test_bad_sizes_are_refused(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_fit_resizes_only_when_needed():
    frame = np.zeros((120, 160, 3), np.uint8)
    assert fit(frame, (160, 120)) is frame
    assert fit(frame, (320, 240)).shape == (240, 320, 3)


def test_a_whep_stream_without_capture_stamps_shows_latency_as_unknown_not_zero():
    """OBS stamps no capture time on what it pushes; the player showed ~0 ms for it, as if instant."""
    need_module("aiortc", "webrtc")
    from av import VideoFrame

    from plasticvision.camera.loop import Meter
    from plasticvision.camera.whep_player import NoInput, picture
    from plasticvision.client import stamp
    from plasticvision.client.webrtc import Received

    meter, image = Meter(), np.full((240, 320, 3), 128, np.uint8)
    for number in range(10):
        received = Received(VideoFrame.from_ndarray(image, format="bgr24"), time.monotonic() * 1000, None)
        meter.arrived(picture(received, 0.0), stamped=received.latency_ms is not None)
        time.sleep(0.01)
    running, final = meter.totals(NoInput(), NoInput()), meter.totals(NoInput(), NoInput(), final=True)
    assert running.latency_p50_ms is None and running.fps > 0
    assert "latency unknown" in running.line() and "latency unknown" in final.summary()

    stamped = stamp.stamp(image, time.monotonic() * 1000 - 120)  # our own client's frames: the latency shows
    received = Received(VideoFrame.from_ndarray(stamped, format="bgr24"), time.monotonic() * 1000, 120.0)
    meter.arrived(picture(received, 0.0), stamped=True)
    assert 100 < meter.totals(NoInput(), NoInput()).latency_p50_ms < 200
