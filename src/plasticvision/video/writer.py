"""H.264 MP4 out with PyAV: browser-playable (yuv420p, faststart), sound kept, labelled synthetic.

NVENC encodes on the GPU when one is there; libx264 otherwise.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import av.error
import numpy as np

from plasticvision.types import Frame
from plasticvision.video.audio import AudioTrack
from plasticvision.video.metadata import SYNTHETIC_TAGS
from plasticvision.video.reader import VideoInfo, describe

log = logging.getLogger(__name__)

HARDWARE_ENCODER = "h264_nvenc"
SOFTWARE_ENCODER = "libx264"
ENCODER_OPTIONS = {
    HARDWARE_ENCODER: {"preset": "p4", "rc": "vbr", "cq": "21"},
    SOFTWARE_ENCODER: {"preset": "veryfast", "crf": "20"},
}
MP4_OPTIONS = {"movflags": "+faststart+use_metadata_tags"}  # moov first: plays while downloading


@lru_cache(maxsize=1)
def h264_encoder() -> str:
    """NVENC when a GPU and driver can open it, else libx264; checked once per process."""
    if HARDWARE_ENCODER not in av.codecs_available:
        return SOFTWARE_ENCODER
    try:
        context = av.CodecContext.create(HARDWARE_ENCODER, "w")
        context.width, context.height, context.pix_fmt = 256, 256, "yuv420p"
        context.time_base = Fraction(1, 25)
        context.open()
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        log.info("h264_nvenc unavailable (%s); encoding with libx264", describe(exc))
        return SOFTWARE_ENCODER
    return HARDWARE_ENCODER


class VideoWriter:
    """An H.264 yuv420p MP4 with faststart and synthetic-media tags; frames keep their timestamps.

    yuv420p needs even sizes, so an odd width or height loses its last pixel column or row.
    Timestamps that do not increase (or are missing) are moved to one frame after the last,
    since the encoder refuses them.
    """

    def __init__(
        self,
        path: str | Path,
        info: VideoInfo,
        time_base: Fraction,
        *,
        audio_source: av.audio.stream.AudioStream | None = None,
        synthetic: bool = True,
    ) -> None:
        self.container = av.open(str(path), "w", format="mp4", options=MP4_OPTIONS)
        if synthetic:
            self.container.metadata.update(SYNTHETIC_TAGS)
        self.encoder = h264_encoder()
        stream = self.container.add_stream(self.encoder, rate=info.fps, options=ENCODER_OPTIONS[self.encoder])
        stream.width, stream.height = info.width // 2 * 2, info.height // 2 * 2
        stream.pix_fmt = "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        self.stream = stream
        self.audio = AudioTrack(self.container, audio_source) if audio_source is not None else None
        self.frame_ticks = max(int(round(1 / (info.fps * time_base))), 1)
        self._last_pts: int | None = None

    def write(self, image: Frame, pts: int | None, time_base: Fraction) -> None:
        """Encode one BGR frame at `pts` (in `time_base`, rescaled when it is not the stream's)."""
        height, width = self.stream.height, self.stream.width
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:height, :width]), format="bgr24")
        if pts is not None and time_base != self.stream.time_base:
            pts = int(round(pts * time_base / self.stream.time_base))
        frame.pts = self._next_pts(pts)
        frame.time_base = self.stream.time_base
        self.container.mux(self.stream.encode(frame.reformat(format="yuv420p")))

    def mux_audio(self, packet: av.Packet) -> None:
        if self.audio is not None:
            self.audio.mux(packet)

    def _next_pts(self, pts: int | None) -> int:
        if self._last_pts is not None and (pts is None or pts <= self._last_pts):
            pts = self._last_pts + self.frame_ticks
        self._last_pts = pts or 0
        return self._last_pts

    def abort(self) -> None:
        """Close without caring about the file, which the caller deletes."""
        try:
            self.container.close()
        except av.error.FFmpegError as exc:
            log.debug("closing an abandoned output: %s", describe(exc))

    def close(self) -> None:
        """Flush the encoder and finish the file (with faststart this rewrites it: moov first)."""
        try:
            self.container.mux(self.stream.encode(None))
            if self.audio is not None:
                self.audio.close()
        finally:
            self.container.close()
