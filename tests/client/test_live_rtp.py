"""The live jitter buffer, NACK cap and encoders that keep WebRTC's delay near the link's own."""

from __future__ import annotations

from fractions import Fraction

import cv2
import pytest

from tests.support.optional_parts import need_module

need_module("aiortc", "webrtc")

from aiortc import RTCPeerConnection, VideoStreamTrack  # noqa: E402
from aiortc.rtp import RtpPacket  # noqa: E402
from av import VideoFrame  # noqa: E402

from tests.support.faces import on_canvas  # noqa: E402
from tests.support.own_loop import in_own_loop  # noqa: E402

from plasticvision.client import live_encoder  # noqa: E402
from plasticvision.client.jitter import MAX_ASKS, LiveJitterBuffer, LiveNacks, is_keyframe, use_live_receiver  # noqa: E402
from plasticvision.client.live_encoder import LiveVp8Encoder, use_live_encoder  # noqa: E402

VP8_KEY, VP8_DELTA = b"\x10\x02\x00", b"\x11\x02\x00"  # frame tags: bit 0 clear on a key frame


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def packet(seq: int, frame: int, last: bool, data: bytes = VP8_DELTA) -> RtpPacket:
    """Packet `seq` of frame number `frame` (RTP time 3000 a frame), the frame's last when `last`."""
    made = RtpPacket(sequence_number=seq, timestamp=frame * 3000, marker=int(last))
    made._data = data  # what aiortc's depayloader leaves on it
    return made


def test_a_frame_leaves_at_its_last_packet_not_at_the_next_frames_first():
    buffer = LiveJitterBuffer(clock=Clock())
    assert buffer.add(packet(10, 1, False, VP8_KEY)) == (False, None)
    _, frame = buffer.add(packet(11, 1, True, b"rest"))
    assert frame is not None and frame.data == VP8_KEY + b"rest" and frame.timestamp == 3000


def test_a_retransmission_releases_every_frame_it_completes():
    """Frames 2-4 wait behind frame 1's lost packet; when it comes, all four leave at once."""
    clock = Clock()
    buffer = LiveJitterBuffer(clock=clock)
    buffer.add(packet(1, 1, False, VP8_KEY))
    for seq, number in ((3, 2), (4, 3), (5, 4)):
        clock.now += 0.033
        assert buffer.add(packet(seq, number, True)) == (False, None)
    _, first = buffer.add(packet(2, 1, True))
    assert first is not None and first.timestamp == 3000
    assert [frame.timestamp for frame in buffer.ready()] == [6000, 9000, 12000]
    assert buffer.skipped == 0


def test_a_hole_is_given_up_after_the_hold_and_only_a_keyframe_resumes():
    clock = Clock()
    buffer = LiveJitterBuffer(max_hold_s=0.15, clock=clock)
    buffer.add(packet(1, 1, True, VP8_KEY))
    # packet 2 (frame 2) never comes; frames 3 and 4 arrive behind it
    buffer.add(packet(3, 2, True))
    clock.now = 0.1
    assert buffer.add(packet(4, 3, True)) == (False, None)  # still within the hold
    clock.now = 0.2
    pli, frame = buffer.add(packet(5, 4, True))  # held too long: skip past the hole, ask for a keyframe
    assert pli and frame is None and buffer.skipped == 1  # frames 3 and 4 refer to what was lost: dropped
    clock.now = 0.3
    assert buffer.add(packet(6, 5, True)) == (False, None)  # a delta frame: dropped, no second PLI so soon
    _, key = buffer.add(packet(7, 6, True, VP8_KEY))
    assert key is not None and key.timestamp == 18000
    _, after = buffer.add(packet(8, 7, True))
    assert after is not None  # decoding goes on from the keyframe


def test_a_lost_packet_is_asked_for_at_most_twice():
    nacks = LiveNacks()
    nacks.add(packet(1, 1, True))
    asked = []
    for seq in range(3, 12, 2):  # every other packet lost: a new gap each time
        if nacks.add(packet(seq, seq, True)):
            asked.append(sorted(nacks.missing))
    assert sum(2 in missing for missing in asked) == MAX_ASKS
    assert asked[-1] == [8, 10]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (VP8_KEY, True),
        (VP8_DELTA, False),
        (b"\x00\x00\x00\x01\x67sps\x00\x00\x00\x01\x68pps\x00\x00\x01\x65idr", True),
        (b"\x00\x00\x00\x01\x41slice", False),
        (b"", False),
    ],
)
def test_keyframes_are_told_by_their_first_bytes(data: bytes, key: bool):
    assert is_keyframe(data) is key


def test_the_bitrate_follows_a_fall_at_once_and_a_rise_slowly():
    encoder, clock = LiveVp8Encoder(), Clock()
    encoder.clock = clock
    start = encoder.target_bitrate
    encoder.target_bitrate = int(start * 1.1)  # a wobble: no restart
    assert encoder.target_bitrate == start
    encoder.target_bitrate = int(start * 0.7)  # congestion: at once
    assert encoder.target_bitrate == int(start * 0.7)
    clock.now = 10.0
    encoder.target_bitrate = start  # +43 %: applied
    clock.now = 11.0
    encoder.target_bitrate = int(start * 1.5)  # again within UP_EVERY_S: not yet
    assert encoder.target_bitrate == start


def test_a_keyframe_request_restarts_the_encoder_without_a_burst_behind_it():
    """aiortc forces a keyframe on its running libvpx encoder, and the frame after it was ~50 kB
    (measured at 640x480, 1 Mbit/s); ours starts a fresh encoder, with its keyframe capped."""
    picture = on_canvas(cv2.imread("tests/data/astronaut.png"), 400, (120, 40))
    encoder = LiveVp8Encoder()
    sizes = []
    for number in range(40):
        image = picture.copy()
        cv2.putText(image, str(number), (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        frame = VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = number * 3000, Fraction(1, 90000)
        payloads, _ = encoder.encode(frame, force_keyframe=number == 20)
        sizes.append(sum(len(payload) for payload in payloads))
    assert encoder.restarts == 1
    assert max(sizes) < 12_000, sizes  # 100 ms of a 1 Mbit/s link at most


def test_both_ends_of_a_negotiated_connection_get_live_parts():
    async def negotiate() -> list[str]:
        offerer, answerer = RTCPeerConnection(), RTCPeerConnection()
        offerer.addTransceiver(VideoStreamTrack(), direction="sendrecv")
        await offerer.setLocalDescription(await offerer.createOffer())
        await answerer.setRemoteDescription(offerer.localDescription)
        answerer.getTransceivers()[0].sender.replaceTrack(VideoStreamTrack())
        answerer.getTransceivers()[0].direction = "sendrecv"
        await answerer.setLocalDescription(await answerer.createAnswer())
        use_live_encoder(answerer)
        await offerer.setRemoteDescription(answerer.localDescription)
        use_live_encoder(offerer)
        use_live_receiver(offerer)
        receiver = offerer.getTransceivers()[0].receiver
        assert isinstance(receiver._RTCRtpReceiver__jitter_buffer, LiveJitterBuffer)
        assert isinstance(receiver._RTCRtpReceiver__nack_generator, LiveNacks)
        names = [type(peer.getTransceivers()[0].sender._RTCRtpSender__encoder).__name__ for peer in (offerer, answerer)]
        await offerer.close()
        await answerer.close()
        return names

    assert in_own_loop(negotiate()) == ["LiveVp8Encoder", "LiveVp8Encoder"]
    assert live_encoder.ENCODERS["video/h264"].__name__ == "LiveH264Encoder"
