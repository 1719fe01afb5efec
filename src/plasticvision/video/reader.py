"""Video files in with PyAV: upright BGR frames with their own timestamps, and what the file holds.

No ffmpeg binary is needed. The reader applies the container's rotation to the pixels, so
detectors see upright faces and the output (written upright, without a rotation flag) looks
the same in every player, including those that ignore rotation flags. Timestamps travel
with each frame, so variable-frame-rate input keeps its timing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from collections.abc import Callable, Iterator

import av
import av.error
import cv2

from plasticvision.errors import BadVideo
from plasticvision.video.formats import open_container
from plasticvision.types import Frame
from plasticvision.video.limits import VideoLimits

log = logging.getLogger(__name__)

FALLBACK_FPS = Fraction(25)
ROTATE_UPRIGHT = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, -90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180}

AudioSink = Callable[[av.Packet], None]


@dataclass(frozen=True)
class VideoInfo:
    """What a job and a progress bar need to know before the first frame."""

    width: int  # as displayed: rotation applied
    height: int
    fps: Fraction  # average rate; variable-rate input keeps its own timestamps regardless
    frames: int  # from the header, else estimated from the duration; 0 when unknown
    duration_s: float
    rotation: int  # degrees counter-clockwise that the container asked players to rotate
    codec: str
    audio_codec: str | None


@dataclass(frozen=True)
class TimedFrame:
    """One decoded frame, upright, with its presentation time in its stream's time base."""

    image: Frame
    pts: int | None
    time_base: Fraction


def not_a_video(format_name: str) -> str | None:
    """What a file is when FFmpeg opened it as a "video" that no user means as one, else None.

    FFmpeg renders PNG, JPEG, ... as one-frame videos (image demuxers) and text files as
    ANSI art (`tty`); a swap of either would only surprise.
    """
    if format_name == "image2" or format_name.endswith("_pipe"):
        return "a still image (swap-image takes images)"
    if format_name == "tty":
        return "a text file"
    return None


def normalise_rotation(degrees: float) -> int:
    """The display rotation snapped to a quarter turn in -90..180, the only ones players honour."""
    quarter = int(round(degrees / 90.0)) % 4
    return (0, 90, 180, -90)[quarter]


def upright(image: Frame, rotation: int) -> Frame:
    return cv2.rotate(image, ROTATE_UPRIGHT[rotation]) if rotation else image


class VideoReader:
    """Decodes the first video stream of a file; audio packets go, undecoded, to a sink if given.

    Opening raises BadVideo for anything that is not a decodable video, so a bad upload fails
    before a job starts rather than halfway through.
    """

    def __init__(self, path: str | Path, name: str | None = None, limits: VideoLimits | None = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.name  # what error messages call the file (the upload's own name)
        self.limits = limits
        try:
            self.container = open_container(self.path, self.name)
        except (av.error.FFmpegError, UnicodeDecodeError) as exc:
            raise BadVideo(f"{self.name}: not a readable video ({describe(exc)})") from exc
        except OSError as exc:
            raise BadVideo(f"cannot read {self.name}: {exc.strerror or exc}") from exc
        try:
            self.video = self._video_stream()
            self.audio = self.container.streams.audio[0] if self.container.streams.audio else None
            self.info = self._info()
        except av.error.FFmpegError as exc:
            self.container.close()
            raise BadVideo(f"{self.name}: the video is damaged ({describe(exc)})") from exc
        except BaseException:
            self.container.close()
            raise

    def _video_stream(self) -> av.video.stream.VideoStream:
        kind = not_a_video(self.container.format.name)
        if kind:
            raise BadVideo(f"{self.name}: this is {kind}, not a video")
        # cover art in a music file is a one-picture "video" stream: not what anyone means by video
        streams = [s for s in self.container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
        if not streams or not streams[0].codec_context.width:
            raise BadVideo(f"{self.name}: the file has no video stream")
        stream = streams[0]
        stream.thread_type = "AUTO"
        return stream

    def _info(self) -> VideoInfo:
        stream = self.video
        fps = stream.average_rate or stream.guessed_rate or FALLBACK_FPS
        duration_s = self._duration_s()
        frames = stream.frames or int(round(duration_s * float(fps)))
        width, height = stream.codec_context.width, stream.codec_context.height
        if self.limits is not None:  # from the header, before the first frame is decoded
            self.limits.check(self.name, width, height, duration_s, frames)
        rotation = normalise_rotation(self._rotation())
        if abs(rotation) == 90:
            width, height = height, width
        audio = self.audio.codec_context.codec.canonical_name if self.audio is not None else None
        return VideoInfo(width, height, Fraction(fps), frames, duration_s, rotation, stream.codec_context.name, audio)

    def _duration_s(self) -> float:
        stream = self.video
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        if self.container.duration is not None:
            return self.container.duration / av.time_base
        return 0.0

    def _rotation(self) -> float:
        """The display matrix, which FFmpeg attaches to decoded frames, read from a first frame.

        A second demuxer does the peeking, so `frames()` still starts at the first packet.
        """
        with open_container(self.path, self.name) as peek:
            stream = peek.streams[self.video.index]
            for packet in peek.demux(stream):
                for frame in self._decode(packet):
                    return float(frame.rotation)
        raise BadVideo(f"{self.name}: no decodable video frame")

    def _decode(self, packet: av.Packet) -> list[av.VideoFrame]:
        """A packet's frames; one the decoder rejects is skipped (as players do) and logged."""
        try:
            return packet.decode()
        except av.error.InvalidDataError as exc:
            log.warning("%s: skipped a corrupt video packet (%s)", self.name, describe(exc))
            return []

    def frames(self, on_audio: AudioSink | None = None) -> Iterator[TimedFrame]:
        """Every video frame in presentation order; audio packets go to `on_audio` in file order.

        One pass per reader: the demuxer is not rewound.
        """
        streams = [self.video] + ([self.audio] if on_audio and self.audio is not None else [])
        decoded = 0
        try:
            for packet in self.container.demux(streams):
                if packet.stream is self.video:
                    for frame in self._decode(packet):
                        decoded += 1
                        yield self._timed(frame)
                elif packet.dts is not None and on_audio is not None:
                    on_audio(packet)
        except av.error.FFmpegError as exc:
            raise BadVideo(f"{self.name}: the video is damaged ({describe(exc)})") from exc
        if not decoded:
            raise BadVideo(f"{self.name}: no decodable video frame")

    def seek(self, pts: int) -> None:
        """Start `frames()` at the keyframe at or before `pts` (in the video stream's time base)."""
        try:
            self.container.seek(pts, stream=self.video, backward=True, any_frame=False)
        except av.error.FFmpegError as exc:
            raise BadVideo(f"{self.name}: cannot seek in the video ({describe(exc)})") from exc

    def packet_times(self) -> Iterator[tuple[int | None, bool]]:
        """(pts, is keyframe) of every video packet, without decoding: a cheap index of the file.

        One pass per reader, like `frames()`: read it from a reader of its own.
        """
        try:
            for packet in self.container.demux(self.video):
                if packet.size:  # the demuxer ends with an empty flush packet
                    yield packet.pts, packet.is_keyframe
        except av.error.FFmpegError as exc:
            raise BadVideo(f"{self.name}: the video is damaged ({describe(exc)})") from exc

    @property
    def time_base(self) -> Fraction:
        return Fraction(self.video.time_base or Fraction(1, 90_000))

    def _timed(self, frame: av.VideoFrame) -> TimedFrame:
        image = upright(frame.to_ndarray(format="bgr24"), self.info.rotation)
        return TimedFrame(image, frame.pts, Fraction(frame.time_base or self.time_base))

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def probe(path: str | Path, name: str | None = None, limits: VideoLimits | None = None) -> VideoInfo:
    """Check that a file is a decodable video within `limits` and say what it holds; raises BadVideo otherwise."""
    with VideoReader(path, name, limits) as reader:
        return reader.info


def describe(exc: BaseException) -> str:
    """FFmpeg's own words for a failure, without PyAV's errno prefix and file name."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
