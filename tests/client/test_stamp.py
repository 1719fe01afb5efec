"""The capture-time stamp the WebRTC clients draw above each frame: it reads back, across the 2^24
wrap, and through a real VP8 encode at aiortc's lowest bitrate."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from plasticvision.client import stamp as frame_stamp


def test_a_stamp_reads_back_and_a_frame_without_one_reads_as_none():
    frame = np.full((480, 640, 3), 120, np.uint8)
    for ms in (0, 1, 123_456.7, 2**24 - 1, 2**24 + 5):
        stamped = frame_stamp.stamp(frame, ms)
        assert stamped.shape == (496, 640, 3)
        assert frame_stamp.read(stamped[..., 1]) == int(ms) % 2**24
        assert (frame_stamp.crop(stamped) == frame).all()
    assert frame_stamp.read(frame[..., 0]) is None
    assert frame_stamp.elapsed_ms(5, 2**24 - 10) == 15  # across the wrap


def test_a_stamp_survives_vp8_at_a_low_bitrate():
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt, codec.time_base = 640, 496, "yuv420p", Fraction(1, 30)
    codec.bit_rate = 250_000  # aiortc's floor for VP8
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}  # as aiortc encodes
    decoder = av.CodecContext.create("vp8", "r")
    rng = np.random.default_rng(1)
    values, read = [1000 + 33 * i for i in range(8)], []
    for i, value in enumerate(values):
        picture = rng.integers(0, 255, (480, 640, 3), np.uint8)  # noise: the hardest picture to spend bits on
        frame = av.VideoFrame.from_ndarray(frame_stamp.stamp(picture, value), format="bgr24").reformat(format="yuv420p")
        frame.pts = i
        for packet in codec.encode(frame):
            for decoded in decoder.decode(packet):
                luma = decoded.to_ndarray(format="gray")
                read.append(frame_stamp.read(luma))
    assert read and read == values[: len(read)]


def test_too_narrow_a_frame_is_refused():
    with pytest.raises(ValueError, match="too narrow"):
        frame_stamp.stamp(np.zeros((10, 50), np.uint8), 1)
