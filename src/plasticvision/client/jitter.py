"""A video jitter buffer for live use: a frame goes to the decoder as soon as its last packet is in,
and a lost packet holds the frames behind it for as long as its retransmission takes, at most.

aiortc's own buffer (`aiortc.jitterbuffer.JitterBuffer`, 512 packets for video) has two habits
that cost a live swap most of its latency (bench/webrtc_network.py, docs/webrtc.md):

- it knows a frame is complete only when the *next* frame's first packet arrives, so every frame
  waits one frame interval (33 ms at 30 fps) on each hop: ~70 ms a round trip on loopback;
- a packet that never comes (lost, and its retransmission lost or never sent) holds every frame
  behind it until 512 packets have piled up: seconds at 1 Mbit/s, and on a capped link the
  recovery keyframe is itself large enough to be cut, so the hold repeats;
- it hands the decoder one frame per packet received, so when a retransmission completes several
  frames at once, all but one stay behind, and with one-packet frames (a still picture at a few
  hundred bytes a frame) they stay behind for good: a standing delay of 33 ms per frame.

`LiveJitterBuffer` ends a frame at the RTP marker bit (set on a frame's last packet by aiortc
and by browsers). A hole is timed from the packet that showed it (the one that also sends its
NACK). `LiveNacks` asks again once the retransmission is overdue (`RepairTime`: the repair times
seen on this connection, so one NACK round trip on any link), and when the second is overdue
too (`MAX_HOLD_S` at most) the buffer skips to the next frame that starts whole and asks the
sender for a keyframe (PLI), at most once per `PLI_INTERVAL_S`; until that keyframe comes,
frames are dropped rather than decoded against a picture the decoder never had (VP8 would show
them smeared, and the capture-time stamp on them would read as garbage). `use_live_receiver`
puts one on each video receiver of a peer connection, before media flows, with a decoder queue
that takes every frame a packet completed, not only the first.

And aiortc's receiver asks again (NACK) for every packet still missing each time a new one goes
missing, so a packet lost for good, and its retransmission, is asked for up to 128 packets later:
after a burst was cut, each NACK brought a burst of 20+ retransmissions that the full queue cut
again. `LiveNacks` asks for a packet at most `MAX_ASKS` times.

A fixed 150 ms wait, started when the buffer last emptied rather than when the hole showed,
left a retransmission on an 80 ms link a few ms of slack: on a loaded machine a third of the
losses at 1 % became holes given up, each costing the frames up to the next keyframe (~7 a
hole; counted by bench/webrtc_network.py, docs/webrtc.md).
"""

from __future__ import annotations

import math
import queue
import time
from collections.abc import Callable, Iterator

from aiortc import RTCPeerConnection, RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add, uint16_gt, uint16_gte

CAPACITY = 512  # packets, as aiortc's video buffer: room for a keyframe at any bitrate we send
FIRST_WAIT_S = 0.25  # how long a hole may hold the frames behind it, until a retransmission has been timed
MIN_WAIT_S = 0.05  # bounds of the wait once timed: a loaded event loop delays a retransmission by tens of ms
MAX_WAIT_S = 0.3  # for one NACK's answer; both NACKs' together are held MAX_HOLD_S at most
MAX_HOLD_S = 0.4  # a hole holds the frames behind it this long at most, whatever the NACKs may still bring
MEMORY_S = 2.0  # when a packet went missing is kept this long (a hole older than that is overdue anyway)
PLI_INTERVAL_S = 0.5  # keyframe requests at most this often: each keyframe is a burst on the link
MAX_ASKS = 2  # NACKs for one packet at most


class RepairTime:
    """How long a lost packet takes to come back (NACK out, retransmission in), and so how long to wait for one.

    Smoothed as TCP smooths its round trip for the retransmission timeout (RFC 6298): the wait is
    the mean plus four mean deviations, between `MIN_WAIT_S` and `MAX_WAIT_S`; `FIRST_WAIT_S`
    until a retransmission has been seen. Timed by the receiver (`LiveNacks`, from a NACK to the
    retransmission that answers it), so it works on a receive-only connection (a WHEP player, an
    OBS ingest) where aiortc has no round trip to give, and it includes the sender's own delay
    in answering, which a loaded machine adds.
    """

    def __init__(self) -> None:
        self.mean: float | None = None
        self.deviation = 0.0
        self.samples = 0

    def add(self, seconds: float) -> None:
        """A repair that took `seconds`; a later one counts as `MAX_WAIT_S`, where the wait is capped anyway."""
        seconds = min(seconds, MAX_WAIT_S)
        self.samples += 1
        if self.mean is None:
            self.mean, self.deviation = seconds, seconds / 2
            return
        self.deviation = 0.75 * self.deviation + 0.25 * abs(self.mean - seconds)
        self.mean = 0.875 * self.mean + 0.125 * seconds

    @property
    def wait_s(self) -> float:
        if self.mean is None:
            return FIRST_WAIT_S
        return min(MAX_WAIT_S, max(MIN_WAIT_S, self.mean + 4 * self.deviation))


class LiveJitterBuffer(JitterBuffer):
    """`JitterBuffer` that releases a frame at its marker bit and gives up on a hole once the answers
    to both its NACKs are overdue (`RepairTime.wait_s` each, from the packet that showed the hole)."""

    def __init__(
        self, capacity: int = CAPACITY, repair: RepairTime | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(capacity=capacity, is_video=True)
        self.clock = clock
        self.repair = repair or RepairTime()  # timed by the connection's `LiveNacks`
        self.newest: int | None = None  # highest sequence number seen
        self.missing: dict[int, float] = {}  # sequence number -> when a later packet showed it missing, oldest first
        self.last_pli = -PLI_INTERVAL_S
        self.want_pli = False
        self.need_keyframe = False
        self.skipped = 0  # holes given up
        self.repaired = 0  # lost packets that a retransmission brought in time

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        self.track_losses(packet.sequence_number)
        pli, frame = super().add(packet)
        pli, self.want_pli = pli or self.want_pli, False
        if pli:
            now = self.clock()
            pli, self.last_pli = (True, now) if now - self.last_pli >= PLI_INTERVAL_S else (False, self.last_pli)
        return pli, frame

    def track_losses(self, seq: int) -> None:
        """Note the packets that `seq` shows missing (as aiortc's NACK generator does, at the same packet)."""
        now = self.clock()
        if self.missing.pop(seq, None) is not None:
            if self._origin is not None and uint16_gte(seq, self._origin):
                self.repaired += 1  # still wanted: not given up yet
        elif self.newest is None or uint16_gt(seq, self.newest):
            gap = 0 if self.newest is None else uint16_add(seq, -self.newest) - 1
            for offset in range(min(gap, self.capacity)):
                self.missing[uint16_add(seq, -1 - offset)] = now
            self.newest = seq
        while self.missing and now - next(iter(self.missing.values())) > MEMORY_S:
            del self.missing[next(iter(self.missing))]

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        """The oldest frame when all its packets are in; called by `add` after each packet."""
        while (complete := self.complete()) is not None:
            frame = self.take(*complete)
            if frame is not None:
                return frame
        self.hold()
        return None

    def ready(self) -> Iterator[JitterFrame]:
        """Every further frame that is complete now, oldest first."""
        while (frame := self._remove_frame(0)) is not None:
            yield frame

    def complete(self) -> tuple[list[RtpPacket], int] | None:
        """The oldest frame's packets and how many slots they fill, if all are in."""
        packets: list[RtpPacket] = []
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self.capacity]
            if packet is None:
                return None
            if packets and packet.timestamp != packets[0].timestamp:  # its marker was lost: ends here anyway
                return packets, count
            packets.append(packet)
            if packet.marker:
                return packets, count + 1
        return None

    def take(self, packets: list[RtpPacket], count: int) -> JitterFrame | None:
        self.remove(count)
        data = b"".join(p._data for p in packets)  # type: ignore[attr-defined]  # aiortc's depayloaded bytes
        if self.need_keyframe:
            if not is_keyframe(data):
                self.want_pli = True
                return None
            self.need_keyframe = False
        return JitterFrame(data=data, timestamp=packets[0].timestamp)

    def hold(self) -> None:
        """The oldest frame is not complete: if a packet of it is missing while later ones are in (a loss,
        NACKed when it showed), skip past it once its retransmission is overdue, and ask for a keyframe."""
        gap = self.oldest_gap()
        if self.newest is None or not uint16_gt(self.newest, gap):
            return  # no packet after it yet: the frame is still arriving
        detected = self.missing.get(gap, -math.inf)  # not remembered: missing for longer than MEMORY_S
        if self.clock() - detected < min(MAX_ASKS * self.repair.wait_s, MAX_HOLD_S):
            return  # the answer to its first NACK, or to the second `LiveNacks` sends, may still come
        start = self.next_whole_start()
        if start is not None:
            self.remove(start)
            self.skipped += 1
            self.need_keyframe = self.want_pli = True  # what follows a gap refers to what was lost

    def oldest_gap(self) -> int:
        """Sequence number of the first empty slot from the origin."""
        count = 0
        while count < self.capacity and self._packets[(self._origin + count) % self.capacity] is not None:
            count += 1
        return uint16_add(self._origin, count)

    def next_whole_start(self) -> int | None:
        """Offset (from the origin) of the first packet that begins a frame after the oldest hole."""
        seen_hole = False
        for count in range(1, self.capacity):
            before = self._packets[(self._origin + count - 1) % self.capacity]
            packet = self._packets[(self._origin + count) % self.capacity]
            seen_hole = seen_hole or before is None
            if seen_hole and packet is not None and before is not None:
                if before.marker or before.timestamp != packet.timestamp:
                    return count
        return None


def is_keyframe(data: bytes) -> bool:
    """Whether a depayloaded frame decodes on its own: an H.264 IDR (or SPS) NAL unit, or a VP8 key frame."""
    if data.startswith((b"\0\0\0\1", b"\0\0\1")):  # H.264 Annex B, as aiortc depayloads it
        units = data.replace(b"\0\0\0\1", b"\0\0\1").split(b"\0\0\1")
        return any(unit and (unit[0] & 0x1F) in (5, 7) for unit in units)
    return bool(data) and data[0] & 1 == 0  # VP8 frame tag: bit 0 clear on a key frame (RFC 6386 9.1)


class LiveNacks(NackGenerator):
    """aiortc's NACK generator, but a packet is asked for at most `MAX_ASKS` times, and asked again once
    its retransmission is overdue (`repair.wait_s`), not only when another packet goes missing."""

    def __init__(self, repair: RepairTime | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.repair = repair or RepairTime()
        self.clock = clock
        self.asks: dict[int, int] = {}
        self.asked_at: dict[int, float] = {}

    def add(self, packet: RtpPacket) -> bool:
        """Whether to NACK now: a packet went missing, or one asked for is overdue. The receiver then
        NACKs all of `missing`, so those are counted (and dropped from it once asked `MAX_ASKS` times)."""
        now = self.clock()
        if packet.sequence_number in self.asked_at:  # a retransmission: time it from the NACK it answers
            self.repair.add(now - self.asked_at[packet.sequence_number])
        new_gap = super().add(packet)
        self.asks = {seq: count for seq, count in self.asks.items() if seq in self.missing}
        self.asked_at = {seq: at for seq, at in self.asked_at.items() if seq in self.missing}
        overdue = any(now - at >= self.repair.wait_s for at in self.asked_at.values())
        if not (new_gap or overdue):
            return False
        for seq in list(self.missing):
            self.asks[seq], self.asked_at[seq] = self.asks.get(seq, 0) + 1, now
            if self.asks[seq] > MAX_ASKS:
                self.missing.discard(seq)
                del self.asks[seq], self.asked_at[seq]
        return bool(self.missing)


class DecoderQueue(queue.Queue):
    """The receiver's queue to its decoder thread: after each frame the receiver puts in, the frames
    that the same packet completed behind it (`LiveJitterBuffer.ready`), timed as the receiver times them."""

    def __init__(self, buffer: LiveJitterBuffer, receiver: RTCRtpReceiver) -> None:
        super().__init__()
        self.buffer = buffer
        self.receiver = receiver

    def put(self, item, block: bool = True, timeout: float | None = None) -> None:  # noqa: ANN001 - (codec, frame) or None
        super().put(item, block, timeout)
        if item is None:  # the receiver stopping
            return
        codec = item[0]
        mapper = self.receiver._RTCRtpReceiver__timestamp_mapper  # noqa: SLF001
        for frame in self.buffer.ready():
            frame.timestamp = mapper.map(frame.timestamp)
            super().put((codec, frame), block, timeout)


def use_live_receiver(peer: RTCPeerConnection) -> None:
    """Give each video receiver of `peer` a `LiveJitterBuffer`, its `DecoderQueue` and `LiveNacks`; call
    once its transceivers exist and before media flows (the receiver starts its decoder thread on that queue).

    aiortc makes these inside `RTCRtpReceiver` with no option to choose them; this replaces that
    instance's (their name-mangled attributes) before any packet has reached them.
    """
    for transceiver in peer.getTransceivers():
        if transceiver.kind == "video":
            repair = RepairTime()
            receiver, buffer, nacks = transceiver.receiver, LiveJitterBuffer(repair=repair), LiveNacks(repair)
            receiver._RTCRtpReceiver__jitter_buffer = buffer  # noqa: SLF001
            receiver._RTCRtpReceiver__decoder_queue = DecoderQueue(buffer, receiver)  # noqa: SLF001
            receiver._RTCRtpReceiver__nack_generator = nacks  # noqa: SLF001
