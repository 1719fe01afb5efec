"""The WebRTC path's pure parts: the capture-time stamp (also through a real VP8 encode at a low
bitrate), the offer checks that turn bad SDP into 400s, the UDP link's loss, cap and buffer, and
the lateness that lets a starved decoder catch up."""

from __future__ import annotations

import random
from fractions import Fraction

import av
import numpy as np
import pytest

from plasticvision import frame_stamp
from plasticvision.netem_udp import UDP_IP_HEADERS, Direction, UdpLink

OFFER = "\r\n".join(
    [
        "v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
        "m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "a=mid:0", "a={direction}",
        "a=rtpmap:96 VP8/90000", "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuv",
        "a=fingerprint:sha-256 00:11", "a=setup:actpass", "",
    ]
)


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


@pytest.mark.parametrize("direction", ["sendrecv", "sendonly", "recvonly"])
def test_an_offer_says_which_way_its_video_goes(direction):
    from plasticvision.server.webrtc.sdp import parse_offer  # needs fastapi only, no aiortc

    offer = parse_offer("application/sdp; charset=utf-8", OFFER.format(direction=direction).encode())
    assert offer.direction.value == direction


@pytest.mark.parametrize(
    ("content_type", "body", "status", "words"),
    [
        ("application/json", b"{}", 415, "Content-Type: application/sdp"),
        ("application/sdp", b"\xff\xfe", 400, "not UTF-8"),
        ("application/sdp", b"v=0\r\n" + b"a=x\r\n" * 20_000, 400, "the limit is"),
        ("application/sdp", OFFER.format(direction="inactive").encode(), 400, "inactive"),
        ("application/sdp", OFFER.format(direction="sendrecv").replace("a=fingerprint", "a=x").encode(), 400, "fingerprint"),
        ("application/sdp", OFFER.format(direction="sendrecv").replace("a=ice-", "a=x-").encode(), 400, "ICE"),
        ("application/sdp", OFFER.format(direction="sendrecv").replace("m=video", "m=audio").encode(), 400, "no video"),
    ],
)
def test_a_bad_offer_says_what_is_wrong(content_type, body, status, words):
    from plasticvision.server.webrtc.sdp import parse_offer
    from plasticvision.errors import PlasticVisionError

    with pytest.raises(PlasticVisionError, match=words) as caught:
        parse_offer(content_type, body)
    assert caught.value.status_code == status


def test_the_udp_link_loses_its_share_and_spaces_datagrams_by_the_cap():
    lossy = Direction(UdpLink(loss=0.1), random.Random(1))
    arrivals = [lossy.schedule(0.0, 100) for _ in range(5000)]
    assert 0.08 < arrivals.count(None) / 5000 < 0.12 and lossy.lost == arrivals.count(None)

    capped = Direction(UdpLink(delay_ms=40, mbps=1.0, buffer_ms=50), random.Random(1))
    times = [capped.schedule(0.0, 1000 - UDP_IP_HEADERS) for _ in range(10)]
    assert times[0] == pytest.approx(0.008 + 0.040)
    assert np.diff([t for t in times if t is not None]) == pytest.approx([0.008] * 6)
    assert times.count(None) == capped.overflowed == 3  # 50 ms of buffer holds 6 more: the rest is dropped


def test_lateness_counts_from_the_fastest_recent_arrival_and_resyncs_on_a_jump():
    pytest.importorskip("aiortc")
    from plasticvision.server.webrtc.relay import Lateness

    lateness = Lateness()

    def frame(seconds: float) -> av.VideoFrame:
        made = av.VideoFrame(16, 16, "yuv420p")
        made.pts, made.time_base = round(seconds * 90_000), Fraction(1, 90_000)
        return made

    assert lateness.of(frame(0.0), 10.0) == 0
    assert lateness.of(frame(1.0), 11.3) == pytest.approx(0.3)  # arrived 0.3 s behind the stream's pace
    assert lateness.of(frame(2.0), 11.9) == 0  # faster than before: the new reference
    assert lateness.of(frame(-40_000.0), 12.0) == 0  # the RTP clock wrapped: start over
    late = [lateness.of(frame(-39_999.0 + i / 10), 13.5 + i / 10) for i in range(80)]  # 0.5 s behind from now on
    assert late[0] == pytest.approx(0.5) and late[-1] == pytest.approx(0.0)  # a new normal after the window
