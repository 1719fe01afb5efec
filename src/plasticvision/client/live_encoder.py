"""aiortc's video encoders with a steadier bitrate and smaller keyframe bursts, for a live swap.

aiortc restarts its VP8/H.264 encoder whenever the receiver's bitrate estimate (REMB) moves by
more than 10 %, and each restart starts with a keyframe: 5-6 keyframes in 10 s at 30 fps in
bench/webrtc_network.py, on a link whose estimate only wobbles. A keyframe is 5-20 kB at
640x480 (a burst of 20-80 ms on a 2 Mbit/s link) where a frame is ~2 kB, and the burst is what a
full router queue cuts. And a keyframe forced on a running libvpx encoder (a PLI) is followed by
a ~50 kB frame (measured: libvpx refines the picture at once), 200 ms on a 2 Mbit/s link.

`SteadyRate` follows the estimate down at once when it falls by `DOWN` (the link is congested:
act now) but up only by `UP` and at most every `UP_EVERY_S` (probing up costs a keyframe each
time), and answers a keyframe request by starting a fresh encoder, with no burst behind its
keyframe. `LiveVp8Encoder` also caps a VP8 keyframe at `MAX_INTRA_PCT` of an average frame (27 kB
-> 5.5 kB at 1.5 Mbit/s, 640x480) and keeps the quantizer at `MIN_QUANTIZER` or above (a still
scene otherwise gets 20 kB "refinement" frames every second or so): on a link at least as fast as
the bitrate, a burst then fits the 100 ms a router queues, where larger ones were cut, and the
NACKs for the cut packets brought more bursts (measured in the relay: 27-35 kB within 120 ms).
`LiveH264Encoder` caps every frame at `burst_bits` through x264's rate-control buffer (15 -> 11 kB
for a first keyframe of a detailed picture at 1 Mbit/s; a forced one on aiortc's running encoder
was 48 kB). Both reopen their encoder themselves when the bitrate changes: aiortc's `encode` would
reopen it with its own settings, without the cap. `use_live_encoder` gives a negotiated peer
connection's video senders these encoders.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from fractions import Fraction

import av
from aiortc import RTCPeerConnection
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder, number_of_threads
from aiortc.sdp import SessionDescription
from av.frame import Frame
from av.video.codeccontext import VideoCodecContext

DOWN = 0.8  # a new estimate below this share of the bitrate in use is applied at once
UP = 1.25  # one above this share of it is applied, at most every UP_EVERY_S
UP_EVERY_S = 4.0
MAX_INTRA_PCT = 300  # a keyframe's size at most, in % of an average frame at the target bitrate
FRAME_RATE = 30  # what aiortc's encoders assume (codecs.h264.MAX_FRAME_RATE) and our sources send
MIN_QUANTIZER = 10  # aiortc's 2 lets a still scene spend its unused rate on 20 kB refinement frames


class SteadyRate:
    """Mixed in before an aiortc video encoder (it has `target_bitrate`, `codec` and `encode`)."""

    codec: object | None

    def __init__(self) -> None:
        super().__init__()
        self.clock = time.monotonic
        self.raised_at = -math.inf
        self.restarts = 0  # fresh encoders started for a keyframe request

    @property
    def target_bitrate(self) -> int:
        return super().target_bitrate  # type: ignore[misc]

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        current, now = self.target_bitrate, self.clock()
        if bitrate > current * UP and now - self.raised_at >= UP_EVERY_S:
            self.raised_at = now
        elif bitrate >= current * DOWN:
            return
        super(SteadyRate, type(self)).target_bitrate.__set__(self, bitrate)  # type: ignore[misc]

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        if force_keyframe and self.codec is not None:
            self.codec, self.restarts = None, self.restarts + 1
        if self.codec is not None and (self.codec.width, self.codec.height, self.codec.bit_rate) != (
            frame.width,
            frame.height,
            self.target_bitrate,
        ):
            self.codec = None  # reopened here: aiortc's `encode` would reopen it with its own settings, uncapped
        if self.codec is None:
            self.codec = self.open(frame)
        return super().encode(frame, False)  # type: ignore[misc]

    def open(self, frame: Frame) -> VideoCodecContext:
        raise NotImplementedError


def burst_bits(bitrate: int) -> int:
    """The largest frame allowed, in bits: `MAX_INTRA_PCT` of an average frame at `bitrate` and `FRAME_RATE`."""
    return bitrate * MAX_INTRA_PCT // (100 * FRAME_RATE)


class LiveVp8Encoder(SteadyRate, Vp8Encoder):
    """aiortc's VP8 encoder with `SteadyRate` and keyframes capped at `MAX_INTRA_PCT`."""

    def open(self, frame: Frame) -> VideoCodecContext:
        """aiortc's real-time VP8 settings (codecs/vpx.py), plus the keyframe cap."""
        rate = self.target_bitrate
        codec = av.CodecContext.create("libvpx", "w")
        codec.width, codec.height, codec.bit_rate, codec.pix_fmt = frame.width, frame.height, rate, "yuv420p"
        codec.gop_size, codec.qmin, codec.qmax = 3000, MIN_QUANTIZER, 56
        codec.options = {
            "bufsize": str(rate),  # rc_buf_sz = 1000 ms
            "cpu-used": "-6",
            "deadline": "realtime",
            "lag-in-frames": "0",
            "minrate": str(rate),  # minrate = maxrate = bit_rate: CBR
            "maxrate": str(rate),
            "max-intra-rate": str(MAX_INTRA_PCT),
            "noise-sensitivity": "4",
            "overshoot-pct": "15",
            "partitions": "0",
            "static-thresh": "1",
            "undershoot-pct": "100",
        }
        codec.thread_count = number_of_threads(frame.width * frame.height, multiprocessing.cpu_count())
        return codec


class LiveH264Encoder(SteadyRate, H264Encoder):
    """aiortc's H.264 encoder with `SteadyRate` and every frame capped at `burst_bits` (x264 has no keyframe-only
    cap: its rate control's buffer (VBV) bounds any frame, and an H.264 delta frame never comes near it)."""

    def open(self, frame: Frame) -> VideoCodecContext:
        """aiortc's real-time H.264 settings (codecs/h264.py), plus the cap."""
        rate = self.target_bitrate
        codec = av.CodecContext.create("libx264", "w")
        codec.width, codec.height, codec.bit_rate, codec.pix_fmt = frame.width, frame.height, rate, "yuv420p"
        codec.framerate, codec.time_base = Fraction(FRAME_RATE, 1), Fraction(1, FRAME_RATE)
        codec.options = {"level": "31", "tune": "zerolatency", "maxrate": str(rate), "bufsize": str(burst_bits(rate))}
        codec.profile = "Baseline"
        return codec


ENCODERS: dict[str, type[Encoder]] = {"video/vp8": LiveVp8Encoder, "video/h264": LiveH264Encoder}


def use_live_encoder(peer: RTCPeerConnection) -> None:
    """Give `peer`'s video senders live encoders for the codec the answer chose; call right after the
    answer is applied (the encoder is made on the first frame, which comes only after DTLS).

    aiortc picks its encoder inside `RTCRtpSender` with no option to choose another; this sets
    that instance's encoder (its name-mangled attribute) before it would make its own.
    """
    answer = peer.localDescription if peer.localDescription.type == "answer" else peer.remoteDescription
    chosen = [m.rtp.codecs[0].mimeType.lower() for m in SessionDescription.parse(answer.sdp).media if m.kind == "video" and m.rtp.codecs]
    senders = [t.sender for t in peer.getTransceivers() if t.kind == "video"]
    for sender, mime in zip(senders, chosen, strict=False):
        encoder = ENCODERS.get(mime)
        if encoder is not None:
            sender._RTCRtpSender__encoder = encoder()  # noqa: SLF001
