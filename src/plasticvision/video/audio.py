"""The input's sound in the output MP4: copied bit for bit when browsers play it from MP4, else AAC.

Copying avoids a generation loss and costs nothing; anything else (Opus from WebM, PCM from
MOV or AVI, Vorbis, ...) is decoded and re-encoded to AAC, keeping its rate, channels and
timestamps so sound and picture stay in sync.
"""

from __future__ import annotations

import logging
from fractions import Fraction

import av
import av.error

from plasticvision.errors import BadVideo

log = logging.getLogger(__name__)

COPY_CODECS = frozenset({"aac", "mp3"})  # what MP4 holds and every browser decodes
AAC_BIT_RATE = 160_000


def in_samples(frame: av.AudioFrame) -> av.AudioFrame:
    """Restate a frame's time in samples: AAC cuts audio into 1024-sample frames, and a coarser
    time base (AVI's is often a frame of MP3) would give two of them the same timestamp."""
    if frame.pts is not None and frame.time_base is not None:
        frame.pts = int(round(frame.pts * frame.time_base * frame.sample_rate))
    frame.time_base = Fraction(1, frame.sample_rate)
    return frame


class AudioTrack:
    """One audio stream of the output, fed with the input's packets in file order."""

    def __init__(self, output: av.container.OutputContainer, source: av.audio.stream.AudioStream) -> None:
        self.output = output
        self.source = source
        self.copy = source.codec_context.codec.canonical_name in COPY_CODECS
        if self.copy:
            self.stream = output.add_stream_from_template(source)
        else:
            self.stream = output.add_stream("aac", rate=source.codec_context.sample_rate)
            self.stream.layout = source.codec_context.layout
            self.stream.bit_rate = AAC_BIT_RATE
        log.debug("audio %s: %s", source.codec_context.name, "copied" if self.copy else "re-encoded to AAC")

    def mux(self, packet: av.Packet) -> None:
        if self.copy:
            packet.stream = self.stream
            self.output.mux(packet)
            return
        try:
            frames = packet.decode()
        except av.error.InvalidDataError as exc:
            log.warning("skipped a corrupt audio packet (%s)", exc)
            return
        for frame in frames:
            self.output.mux(self.stream.encode(in_samples(frame)))

    def close(self) -> None:
        """Flush the AAC encoder (a copy has nothing buffered)."""
        if self.copy:
            return
        try:
            self.output.mux(self.stream.encode(None))
        except av.error.FFmpegError as exc:
            raise BadVideo(f"could not finish the audio track ({exc})") from exc
