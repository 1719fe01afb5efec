"""A video jitter buffer for live use: a frame goes to the decoder as soon as its last packet is in,
and a lost packet holds the frames behind it for `MAX_HOLD_S` at most.

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
and by browsers), and when the oldest frame still has a hole after `MAX_HOLD_S` (time enough for
one NACK and its retransmission on an 80 ms link) it skips to the next frame that starts whole
and asks the sender for a keyframe (PLI), at most once per `PLI_INTERVAL_S`; until that keyframe
comes, frames are dropped rather than decoded against a picture the decoder never had (VP8 would
show them smeared, and the capture-time stamp on them would read as garbage). `use_live_receiver`
puts one on each video receiver of a peer connection, before media flows, with a decoder queue
that takes every frame a packet completed, not only the first.

And aiortc's receiver asks again (NACK) for every packet still missing each time a new one goes
missing, so a packet lost for good, and its retransmission, is asked for up to 128 packets later:
after a burst was cut, each NACK brought a burst of 20+ retransmissions that the full queue cut
again. `LiveNacks` asks for a packet at most `MAX_ASKS` times.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator

from aiortc import RTCPeerConnection, RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import RtpPacket

CAPACITY = 512  # packets, as aiortc's video buffer: room for a keyframe at any bitrate we send
MAX_HOLD_S = 0.15  # how long a hole may hold the frames behind it before they are given up
PLI_INTERVAL_S = 0.5  # keyframe requests at most this often: each keyframe is a burst on the link
MAX_ASKS = 2  # NACKs for one packet at most


class LiveJitterBuffer(JitterBuffer):
    """`JitterBuffer` that releases a frame at its marker bit and gives up on a hole after `max_hold_s`."""

    def __init__(
        self,
        capacity: int = CAPACITY,
        max_hold_s: float = MAX_HOLD_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(capacity=capacity, is_video=True)
        self.max_hold_s = max_hold_s
        self.clock = clock
        self.held_since: float | None = None  # when the oldest frame was first seen blocked by a hole
        self.last_pli = -PLI_INTERVAL_S
        self.want_pli = False
        self.need_keyframe = False
        self.skipped = 0  # holes given up

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        pli, frame = super().add(packet)
        pli, self.want_pli = pli or self.want_pli, False
        if pli:
            now = self.clock()
            pli, self.last_pli = (True, now) if now - self.last_pli >= PLI_INTERVAL_S else (False, self.last_pli)
        return pli, frame

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
        self.held_since = None
        data = b"".join(p._data for p in packets)  # type: ignore[attr-defined]  # aiortc's depayloaded bytes
        if self.need_keyframe:
            if not is_keyframe(data):
                self.want_pli = True
                return None
            self.need_keyframe = False
        return JitterFrame(data=data, timestamp=packets[0].timestamp)

    def hold(self) -> None:
        """The oldest frame is not complete: wait for its packets, or skip past them once waited long enough."""
        now = self.clock()
        if self.held_since is None:
            self.held_since = now
            return
        if now - self.held_since < self.max_hold_s:
            return
        start = self.next_whole_start()
        if start is not None:
            self.remove(start)
            self.skipped += 1
            self.held_since = now  # the next frame gets its own wait, if it too has a hole
            self.need_keyframe = self.want_pli = True  # what follows a gap refers to what was lost

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
    """aiortc's NACK generator, but a packet is asked for at most `MAX_ASKS` times."""

    def __init__(self) -> None:
        super().__init__()
        self.asks: dict[int, int] = {}

    def add(self, packet: RtpPacket) -> bool:
        """Whether a packet went missing: the receiver then NACKs all of `missing`, so count those."""
        new_gap = super().add(packet)
        self.asks = {seq: count for seq, count in self.asks.items() if seq in self.missing}
        if new_gap:
            for seq in list(self.missing):
                self.asks[seq] = self.asks.get(seq, 0) + 1
                if self.asks[seq] > MAX_ASKS:
                    self.missing.discard(seq)
                    del self.asks[seq]
        return new_gap


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
            receiver, buffer = transceiver.receiver, LiveJitterBuffer()
            receiver._RTCRtpReceiver__jitter_buffer = buffer  # noqa: SLF001
            receiver._RTCRtpReceiver__decoder_queue = DecoderQueue(buffer, receiver)  # noqa: SLF001
            receiver._RTCRtpReceiver__nack_generator = LiveNacks()  # noqa: SLF001
