"""Chunk files joined into one MP4 without re-encoding, with the original sound muxed in once.

The chunks were encoded with identical settings, so their H.264 parameter sets match and
their packets can follow each other in one stream; the join checks that instead of trusting
it. Video and audio packets are interleaved by time as they are copied, so memory stays flat
however long the video is. The output is labelled synthetic like a single-pass one.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path

import av

from plasticvision.video.audio import AudioTrack
from plasticvision.video.metadata import SYNTHETIC_TAGS, label_video
from plasticvision.video.process import temporary_path
from plasticvision.video.reader import VideoReader
from plasticvision.video.writer import MP4_OPTIONS

Timed = tuple[Fraction, int, av.Packet]  # (time in seconds, stream order, packet)


class ChunksDoNotMatch(RuntimeError):
    """Chunks whose encoders disagreed (parameter sets, size): joining them would corrupt the video."""


def packets_in_time(packets: Iterator[av.Packet], order: int) -> Iterator[Timed]:
    for packet in packets:
        if packet.size and packet.dts is not None:
            yield Fraction(packet.dts) * packet.time_base, order, packet


def placed(path: Path, start_s: Fraction) -> Iterator[av.Packet]:
    """A chunk's packets, moved so that its first frame shows at `start_s`, in whole ticks of its stream.

    An MP4 cannot store where its first frame starts except in an edit list, whose times are
    rounded to the movie's millisecond timescale; so the chunk's own times are only trusted
    relative to each other, and the frame the plan said it starts with is put back in place.
    """
    with av.open(str(path), "r") as chunk:
        stream = chunk.streams.video[0]
        first = min(packet.pts for packet in chunk.demux(stream) if packet.size and packet.pts is not None)
        shift = round(start_s / stream.time_base) - first  # read while open: a closed container's streams are freed
    with av.open(str(path), "r") as chunk:
        for packet in chunk.demux(chunk.streams.video[0]):
            if packet.size:
                packet.pts, packet.dts = packet.pts + shift, packet.dts + shift
                yield packet


def join_chunks(
    parts: Sequence[Path],
    starts_s: Sequence[Fraction],
    source: str | Path,
    output: str | Path,
    temp_dir: Path | None = None,
) -> None:
    """Write `parts`' video packets in order (part i's first frame at `starts_s[i]` seconds), plus `source`'s
    audio, to `output`; nothing is left on failure."""
    output = Path(output)
    temp = temporary_path(output, temp_dir)
    try:
        with ExitStack() as stack:
            chunks = [stack.enter_context(av.open(str(part), "r")) for part in parts]
            streams = [chunk.streams.video[0] for chunk in chunks]
            check_compatible(streams)
            reader = stack.enter_context(VideoReader(source))
            out = stack.enter_context(av.open(str(temp), "w", format="mp4", options=MP4_OPTIONS))
            out.metadata.update(SYNTHETIC_TAGS)
            video = out.add_stream_from_template(streams[0])
            audio = AudioTrack(out, reader.audio) if reader.audio is not None else None
            pictures = (packet for part, start in zip(parts, starts_s) for packet in placed(part, start))
            sounds = reader.container.demux(reader.audio) if audio is not None else iter(())
            for _, order, packet in heapq.merge(packets_in_time(pictures, 0), packets_in_time(sounds, 1)):
                if order == 0:
                    packet.stream = video
                    out.mux(packet)
                else:
                    audio.mux(packet)
            if audio is not None:
                audio.close()
        label_video(temp, source)
        os.replace(temp, output)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def check_compatible(streams: Sequence[av.video.stream.VideoStream]) -> None:
    first = streams[0].codec_context
    for index, stream in enumerate(streams[1:], start=1):
        context = stream.codec_context
        if (context.name, context.width, context.height, context.pix_fmt) != (
            first.name,
            first.width,
            first.height,
            first.pix_fmt,
        ) or context.extradata != first.extradata:
            raise ChunksDoNotMatch(f"chunk {index} was encoded with other parameters than chunk 0")
