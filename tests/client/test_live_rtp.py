"""The live jitter buffer, NACK cap and encoders that keep WebRTC's delay near the link's own."""

from __future__ import annotations

from fractions import Fraction

import cv2
import pytest

from tests.support.optional_parts import need_module

need_module("aiortc", "webrtc")

from aiortc import RTCPeerConnection, VideoStreamTrack  # noqa: E402
from aiortc.codecs.base import Encoder  # noqa: E402
from aiortc.rtp import RtpPacket  # noqa: E402
from av import VideoFrame  # noqa: E402

from tests.support.faces import on_canvas  # noqa: E402
from tests.support.own_loop import in_own_loop  # noqa: E402

from plasticvision.client import live_encoder  # noqa: E402
from plasticvision.client.jitter import (  # noqa: E402
    FIRST_WAIT_S,
    MAX_ASKS,
    MAX_HOLD_S,
    MAX_WAIT_S,
    MIN_WAIT_S,
    LiveJitterBuffer,
    LiveNacks,
    RepairTime,
    is_keyframe,
    use_live_receiver,
)
from plasticvision.client.live_encoder import (  # noqa: E402
    MIN_QUANTIZER,
    LiveH264Encoder,
    LiveVp8Encoder,
    burst_bits,
    use_live_encoder,
)

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


class Receiver:
    """A jitter buffer and its NACK generator on one clock, fed each packet as aiortc's receiver feeds them."""

    def __init__(self) -> None:
        self.clock, repair = Clock(), RepairTime()
        self.buffer = LiveJitterBuffer(repair=repair, clock=self.clock)
        self.nacks = LiveNacks(repair, self.clock)
        self.nacked: list[list[int]] = []  # each NACK sent: the packets it asks for

    def add(self, packet: RtpPacket):  # noqa: ANN201
        if self.nacks.add(packet):
            self.nacked.append(sorted(self.nacks.missing))
        return self.buffer.add(packet)


def repaired_holes(receiver: Receiver, repair_s: float, holes: int) -> int:
    """A keyframe, then `holes` frames each lost and retransmitted `repair_s` after the next packet showed it
    (and NACKed it); returns the next sequence number."""
    receiver.add(packet(1, 1, True, VP8_KEY))
    seq = 2
    for _ in range(holes):
        receiver.clock.now += 0.033
        receiver.add(packet(seq + 1, seq + 1, True))  # frame `seq` lost: its follower shows it
        receiver.clock.now += repair_s
        receiver.add(packet(seq, seq, True))
        list(receiver.buffer.ready())
        seq += 2
    return seq


def test_a_hole_is_timed_from_the_packet_that_showed_it():
    """The retransmission comes one link round trip after the NACK, which goes out when the next
    packet shows the loss; timing the hole from when the buffer last emptied (a frame earlier), with
    a fixed 150 ms, cost ~1 fps at 80 ms and 1 % loss: half the retransmissions came too late."""
    receiver = Receiver()
    receiver.add(packet(1, 1, True, VP8_KEY))
    assert list(receiver.buffer.ready()) == []  # emptied at t=0, as after every frame the receiver takes
    receiver.clock.now = 0.066  # frame 2 (packet 2) was lost; frame 3 shows it
    receiver.add(packet(3, 3, True))
    receiver.clock.now = 0.066 + FIRST_WAIT_S - 0.01  # within the wait, counted from t=0.066
    _, frame = receiver.add(packet(2, 2, True))
    assert frame is not None and [f.timestamp for f in receiver.buffer.ready()] == [9000]
    assert (receiver.buffer.skipped, receiver.buffer.repaired, receiver.nacked) == (0, 1, [[2]])
    assert receiver.buffer.repair.mean == pytest.approx(FIRST_WAIT_S - 0.01)  # timed from its NACK


def test_the_wait_is_the_repair_time_seen_with_its_spread_within_bounds():
    repair = RepairTime()
    assert repair.wait_s == FIRST_WAIT_S
    for _ in range(20):
        repair.add(0.08)
    assert 0.08 <= repair.wait_s < 0.09  # a steady link: little more than its round trip
    repair.add(0.14)  # one slow answer widens the wait by more than its own excess
    assert repair.wait_s > 0.14
    quick = RepairTime()
    for _ in range(20):
        quick.add(0.002)
    assert quick.wait_s == MIN_WAIT_S
    slow = RepairTime()
    slow.add(5.0)
    assert slow.wait_s == MAX_WAIT_S


def test_a_long_link_waits_longer_and_a_short_one_gives_up_sooner():
    """Holes repaired in 220 ms teach the buffer to wait past 300 ms; repaired in 60 ms, a hole is given up by 200 ms."""
    far = Receiver()
    seq = repaired_holes(far, 0.22, 6)
    far.clock.now += 0.033
    far.add(packet(seq + 1, seq + 1, True))
    far.clock.now += 0.3
    _, frame = far.add(packet(seq, seq, True))
    assert frame is not None and (far.buffer.skipped, far.buffer.repaired) == (0, 7)  # a fixed 150 ms gave this up

    near = Receiver()
    seq = repaired_holes(near, 0.06, 6)
    near.clock.now += 0.033
    near.add(packet(seq + 1, seq + 1, True))
    near.clock.now += 0.2
    pli, frame = near.add(packet(seq + 2, seq + 2, True))
    assert pli and frame is None and near.buffer.skipped == 1


def test_an_overdue_retransmission_is_asked_for_again_and_still_saves_the_frames():
    """A lost NACK or retransmission (1 in 50 losses at 1 %) was asked for again only at the next loss,
    a second later: the hole was given up, and the frames up to a keyframe with it."""
    receiver = Receiver()
    seq = repaired_holes(receiver, 0.08, 10)
    wait = receiver.buffer.repair.wait_s
    assert wait < 0.1
    receiver.clock.now += 0.033
    receiver.add(packet(seq + 1, seq + 1, True))  # packet `seq` lost: first NACK
    for later in range(2, 6):  # its retransmission is lost too; frames go on arriving
        receiver.clock.now += 0.033
        receiver.add(packet(seq + later, seq + later, True))
    assert [asked for asked in receiver.nacked if seq in asked] == [[seq], [seq]]  # asked again once overdue
    receiver.clock.now += 0.06
    _, frame = receiver.add(packet(seq, seq, True))
    assert frame is not None and len(list(receiver.buffer.ready())) == 5
    assert receiver.buffer.skipped == 0


def test_an_overdue_hole_is_given_up_and_only_a_keyframe_resumes():
    clock = Clock()
    buffer = LiveJitterBuffer(clock=clock)
    buffer.add(packet(1, 1, True, VP8_KEY))
    # packet 2 (frame 2) never comes; frames 3 and 4 arrive behind it
    buffer.add(packet(3, 3, True))
    clock.now = MAX_HOLD_S - 0.01  # nothing timed yet: FIRST_WAIT_S for each of two NACKs, MAX_HOLD_S at most
    assert buffer.add(packet(4, 4, True)) == (False, None)  # still within the wait
    clock.now = MAX_HOLD_S + 0.01
    pli, frame = buffer.add(packet(5, 5, True))  # overdue: skip past the hole, ask for a keyframe
    assert pli and frame is None and buffer.skipped == 1  # frames 3-5 refer to what was lost: dropped
    clock.now += 0.1
    assert buffer.add(packet(6, 6, True)) == (False, None)  # a delta frame: dropped, no second PLI so soon
    _, key = buffer.add(packet(7, 7, True, VP8_KEY))
    assert key is not None and key.timestamp == 21000
    _, after = buffer.add(packet(8, 8, True))
    assert after is not None  # decoding goes on from the keyframe
    clock.now += 1.0
    _, late = buffer.add(packet(2, 2, True))  # the lost packet, long after: too late, and no hole of its own
    assert late is None and buffer.skipped == 1 and buffer.repaired == 0


def test_a_frame_still_arriving_is_not_a_hole():
    """Packets of one frame spread over longer than any wait (a keyframe on a slow link) are not given up."""
    clock = Clock()
    buffer = LiveJitterBuffer(clock=clock)
    buffer.add(packet(1, 1, False, VP8_KEY))
    clock.now = 1.0
    assert buffer.add(packet(2, 1, False)) == (False, None)
    _, frame = buffer.add(packet(3, 1, True))
    assert frame is not None and buffer.skipped == 0


def test_a_lost_packet_is_asked_for_at_most_twice():
    nacks = LiveNacks(clock=Clock())
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
    sizes = encoded_sizes(encoder, picture, 40, keyframes=(20,))
    assert encoder.restarts == 1
    assert max(sizes) < 12_000, sizes  # 100 ms of a 1 Mbit/s link at most


def encoded_sizes(encoder: Encoder, picture, frames: int, keyframes: tuple[int, ...] = (), fall_at: int = -1) -> list[int]:
    """Bytes of each of `frames` frames of `picture` (numbered, so each differs), with keyframe requests at
    `keyframes` and the bitrate estimate falling to 70 % at `fall_at`."""
    sizes = []
    for number in range(frames):
        image = picture.copy()
        cv2.putText(image, str(number), (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        frame = VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = number * 3000, Fraction(1, 90000)
        if number == fall_at:
            encoder.target_bitrate = int(encoder.target_bitrate * 0.7)
        payloads, _ = encoder.encode(frame, force_keyframe=number in keyframes)
        sizes.append(sum(len(payload) for payload in payloads))
    return sizes


def test_h264_frames_are_capped_like_vp8_keyframes():
    """aiortc's H.264 encoder sent a 15 kB first keyframe and a 48 kB forced one at 1 Mbit/s (a detailed
    640x480 picture); ours keeps every frame within `burst_bits`, before and after a bitrate fall."""
    picture = cv2.resize(cv2.imread("tests/data/astronaut.png"), (640, 480))
    encoder = LiveH264Encoder()
    first_rate = encoder.target_bitrate
    sizes = encoded_sizes(encoder, picture, 40, keyframes=(10, 30), fall_at=20)
    assert max(sizes[:20]) * 8 <= burst_bits(first_rate), sizes
    assert max(sizes[20:]) * 8 <= burst_bits(encoder.target_bitrate) < burst_bits(first_rate), sizes
    assert encoder.restarts == 2 and sum(sizes) * 8 / 40 * 30 <= first_rate  # the cap costs no rate


def test_a_bitrate_change_keeps_our_encoder_settings():
    """aiortc reopens its encoder when the bitrate moves, with its own settings: without the keyframe cap or
    the quantizer floor, so the keyframe after every accepted bitrate change went out uncapped."""
    picture = on_canvas(cv2.imread("tests/data/astronaut.png"), 400, (120, 40))
    encoder = LiveVp8Encoder()
    encoded_sizes(encoder, picture, 6, fall_at=3)
    assert encoder.codec.bit_rate == encoder.target_bitrate and encoder.codec.qmin == MIN_QUANTIZER


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
