"""The WebRTC server's pure parts: the offer checks that turn bad SDP into 400s (before aiortc sees
it), and the lateness that lets a starved decoder catch up without stalling a drifting sender."""

from __future__ import annotations

from fractions import Fraction

import av
import pytest

OFFER = "\r\n".join(
    [
        "v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
        "m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "a=mid:0", "a={direction}",
        "a=rtpmap:96 VP8/90000", "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuv",
        "a=fingerprint:sha-256 00:11", "a=setup:actpass", "",
    ]
)


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
    from plasticvision.server.errors import error_type

    with pytest.raises(PlasticVisionError, match=words) as caught:
        parse_offer(content_type, body)
    assert error_type(caught.value).status == status


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


@pytest.mark.parametrize(
    ("content_type", "body", "found"),
    [
        ("application/trickle-ice-sdpfrag", b"a=mid:0\r\na=candidate:1 1 udp 9 127.0.0.1 9 typ host\r\n", [("0", "1 1 udp 9 127.0.0.1 9 typ host")]),
        ("application/trickle-ice-sdpfrag; charset=utf-8", b"a=candidate:2 1 udp 9 ::1 9 typ host\n", [(None, "2 1 udp 9 ::1 9 typ host")]),
        ("application/trickle-ice-sdpfrag", b"a=end-of-candidates\r\n", []),
    ],
)
def test_a_trickle_fragment_gives_its_candidates_with_their_mid(content_type, body, found):
    from plasticvision.server.webrtc.sdp import parse_trickle

    assert parse_trickle(content_type, body) == found


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [("application/sdp", b"a=end-of-candidates", 415), ("application/trickle-ice-sdpfrag", b"a=mid:0", 400), ("application/trickle-ice-sdpfrag", b"\xff", 400)],
)
def test_a_bad_trickle_fragment_is_a_4xx(content_type, body, status):
    from plasticvision.errors import PlasticVisionError
    from plasticvision.server.errors import error_type
    from plasticvision.server.webrtc.sdp import parse_trickle

    with pytest.raises(PlasticVisionError) as refused:
        parse_trickle(content_type, body)
    assert error_type(refused.value).status == status
