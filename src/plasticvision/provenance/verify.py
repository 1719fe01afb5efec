"""`verify`: is this file, URL or stream marked as PlasticVision's output, and how?

Two independent marks are checked: the file's Content Credentials (c2pa_check.py), which a
re-encode or screenshot strips, and the watermark in the pixels (detect.py), which survives
them. Images are checked whole; videos and streams in windows of WINDOW consecutive frames, up
to `max_frames` frames spread over the video (the scale found in one window is searched first in
the next). A window's whitened frames are averaged before the search: the mark sits at the same
pixels in every frame and the pictures do not, and a codec's predicted frames each keep only part
of the mark (H.264 at CRF 28 on a moving camera: under half to three quarters of the single
frames pass, every window of eight does; bench/watermark_bench.py).
"""

from __future__ import annotations

import io
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from urllib.parse import urlparse

import av
import numpy as np
import numpy.typing as npt

from plasticvision.errors import BadImage, PlasticVisionError
from plasticvision.media.images import DEFAULT_MAX_PIXELS, decode_image
from plasticvision.provenance.c2pa_check import CredentialsReport, read_credentials
from plasticvision.provenance.detect import SCALE_STEP, SCALES, Detection, detect, detect_whitened, whiten
from plasticvision.types import Frame

MAX_FRAMES = 48
WINDOW = 8  # consecutive frames searched together: a quarter of a second at 30 fps, one scene
MIN_MARKED_WINDOWS = 2  # two windows over the threshold by chance: about 1e-5 (the bench's false-positive rate squared)
MAX_DOWNLOAD = 512 * 1024 * 1024
STREAM_SCHEMES = ("rtsp", "rtmp", "rtmps", "srt", "udp", "tcp")
SIGNATURES = ((b"\x89PNG\r\n\x1a\n", 0, "image/png"), (b"\xff\xd8\xff", 0, "image/jpeg"), (b"WEBP", 8, "image/webp"), (b"ftyp", 4, "video/mp4"))


class NotVerifiable(PlasticVisionError):
    """Input that is neither an image nor a video we can decode, or a URL we cannot fetch."""

    type = "not_verifiable"


@dataclass(frozen=True)
class WatermarkReport:
    frames_checked: int
    frames_marked: int  # frames in the windows where the mark was found (an image: 0 or 1)
    best: Detection
    combined: Detection | None = None  # a video's frames averaged (None for an image)
    window: int = 1  # frames searched together

    @property
    def fraction(self) -> float:
        return self.frames_marked / self.frames_checked if self.frames_checked else 0.0

    @property
    def marked(self) -> bool:
        if self.combined is not None and self.combined.marked:
            return True
        return self.frames_marked >= min(MIN_MARKED_WINDOWS * self.window, self.frames_checked) > 0

    def to_json(self) -> dict:
        return {
            "marked": self.marked,
            "frames_checked": self.frames_checked,
            "frames_marked": self.frames_marked,
            "fraction": round(self.fraction, 3),
            "window": self.window,
            "best": self.best.to_json(),
            "combined": None if self.combined is None else self.combined.to_json(),
        }


@dataclass(frozen=True)
class VerifyReport:
    kind: str  # image, video or stream
    credentials: CredentialsReport | None  # None for live streams (no file to carry a manifest)
    watermark: WatermarkReport

    @property
    def marked(self) -> bool:
        """Either mark says synthetic: the watermark, or a manifest (even a tampered one) naming an AI source."""
        claimed = self.credentials is not None and self.credentials.state in ("valid", "untrusted", "tampered")
        return self.watermark.marked or (claimed and bool(self.credentials.source_type))

    def to_json(self) -> dict:
        return {
            "marked": self.marked,
            "kind": self.kind,
            "credentials": None if self.credentials is None else self.credentials.to_json(),
            "watermark": self.watermark.to_json(),
        }


def verify_bytes(
    data: bytes,
    max_frames: int = MAX_FRAMES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    video_demuxer: Callable[[bytes], str | None] | None = None,
) -> VerifyReport:
    """Check a whole file's bytes: an image (PNG, JPEG, WebP, ...) or a video (MP4, WebM, ...).

    A file whose pixels no longer decode but whose manifest reads (an edited byte in a PNG's
    compressed data) is reported with its credentials and no watermark check. `video_demuxer`
    names FFmpeg's demuxer for a video's first bytes (None: not an accepted container): a server
    passes its allow-list, so an uploaded playlist never makes FFmpeg open what it names; without
    one (a user's own file on the command line) FFmpeg probes.
    """
    if not data:
        raise NotVerifiable("the file is empty")
    mime = sniff(data)
    credentials = read_credentials(data, mime) if mime else CredentialsReport("unsupported")
    try:
        frame = decode_image(data, max_pixels)
    except BadImage as image_error:
        if not (mime and mime.startswith("image/")):
            demuxer = video_demuxer(data) if video_demuxer else None
            if video_demuxer and demuxer is None:
                raise NotVerifiable("neither an image nor a video in an accepted container") from image_error
            watermark = watermark_of_video(io.BytesIO(data), max_frames, demuxer=demuxer)
            return VerifyReport("video", credentials, watermark)
        if credentials.state in ("none", "unsupported"):
            raise NotVerifiable(str(image_error)) from image_error
        return VerifyReport("image", credentials, WatermarkReport(0, 0, Detection(False, 0.0, 1.0, None)))
    detection = detect(frame)
    return VerifyReport("image", credentials, WatermarkReport(1, int(detection.marked), detection))


def verify_url(url: str, max_frames: int = MAX_FRAMES) -> VerifyReport:
    """A file over HTTP(S) is downloaded and checked whole; a live stream (RTSP, RTMP, SRT, UDP, an
    HLS playlist or MJPEG over HTTP) is watched for `max_frames` frames."""
    parsed = urlparse(url)
    if parsed.scheme in STREAM_SCHEMES or parsed.path.endswith(".m3u8"):
        return VerifyReport("stream", None, watermark_of_video(url, max_frames, live=True))
    if parsed.scheme not in ("http", "https"):
        raise NotVerifiable(f"{url}: not a URL this can fetch (http, https, {', '.join(STREAM_SCHEMES)})")
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - the scheme is checked above
            if response.headers.get_content_type().startswith("multipart/"):
                return VerifyReport("stream", None, watermark_of_video(url, max_frames, live=True))
            data = response.read(MAX_DOWNLOAD + 1)
    except OSError as exc:
        raise NotVerifiable(f"cannot fetch {url}: {exc}") from exc
    if len(data) > MAX_DOWNLOAD:
        raise NotVerifiable(f"{url} is larger than {MAX_DOWNLOAD >> 20} MB")
    return verify_bytes(data, max_frames)


def sniff(data: bytes) -> str | None:
    """The MIME type c2pa-python needs, from the file's first bytes (None when not one it signs)."""
    for magic, offset, mime in SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return mime
    return None


def watermark_of_video(
    source: io.BytesIO | str, max_frames: int, live: bool = False, demuxer: str | None = None
) -> WatermarkReport:
    """Detect the mark in windows of WINDOW consecutive frames, up to `max_frames` frames: spread over
    a file, from the start of a live stream; then once more on all of them averaged (a codec that
    leaves too little of the mark in each window still leaves it in the video)."""
    window = min(WINDOW, max_frames)
    checked = marked = 0
    best = Detection(False, 0.0, 1.0, None)
    scale = None
    total: npt.NDArray[np.float32] | None = None
    for _, run in groupby(sample_runs(source, max_frames, window, live, demuxer), key=itemgetter(0)):
        shape = None if total is None else total.shape  # a stream that changes size mid-way: the first size's frames count
        whitened = [white for white in (whiten(frame) for _, frame in run) if shape in (None, white.shape)]
        if not whitened:
            continue
        found, hits = detect_window(whitened, scale)
        checked += len(whitened)
        marked += hits
        scale = found.scale if found.marked else scale
        best = max(best, found, key=strength)
        summed = np.sum(whitened, axis=0)
        total = summed if total is None else total + summed
    if total is None:
        raise NotVerifiable("the video has no frames to check")
    combined = detect_whitened(total / checked) if checked > window else None
    return WatermarkReport(checked, marked, best, combined, window)


def detect_window(whitened: list[npt.NDArray[np.float32]], scale: float | None) -> tuple[Detection, int]:
    """The best detection in a window of whitened frames, and how many of its frames carry the mark.

    The window's mean is searched first (the scale found before, then all). When it holds no mark,
    each frame is searched alone: a mark that moved with the picture (a re-edit that pans over a
    marked video) blurs in the mean and is still whole in every frame; an unmarked video costs
    what searching every frame cost before windows.
    """
    found = search_all(np.mean(whitened, axis=0), scale)
    if found.marked or len(whitened) == 1:
        return found, len(whitened) * found.marked
    alone = [search_all(white, scale) for white in whitened]
    return max([found, *alone], key=strength), sum(d.marked for d in alone)


def strength(detection: Detection) -> tuple[bool, float]:
    """Which detection to report: a marked one first (it may be marked by its windows together with
    a lower single-window score), then the stronger peak."""
    return detection.marked, detection.score


def search_all(white: npt.NDArray[np.float32], scale: float | None) -> Detection:
    """Search near the scale found before (a video keeps its size), then every scale if that finds nothing."""
    found = detect_whitened(white, near(scale)) if scale is not None else detect_whitened(white)
    return detect_whitened(white) if scale is not None and not found.marked else found


def near(scale: float) -> tuple[float, ...]:
    """The searched scales within two steps of `scale`."""
    return tuple(s for s in SCALES if abs(np.log(s / scale)) <= 2.01 * np.log(SCALE_STEP))


def sample_runs(
    source: io.BytesIO | str, max_frames: int, window: int, live: bool, demuxer: str | None = None
) -> Iterator[tuple[int, Frame]]:
    """(run number, BGR frame): runs of `window` consecutive frames, spread over a file so that about
    `max_frames` frames come out, or the first ones of a stream."""
    try:
        options = {"rw_timeout": "15000000"} if live else {}
        if demuxer:
            options["protocol_whitelist"] = "file"  # an allowed container opens nothing else
        with av.open(source, "r", format=demuxer, options=options, timeout=30 if live else None) as container:
            if not container.streams.video:
                raise NotVerifiable("neither an image nor a video with a picture track")
            stream = container.streams.video[0]
            total = stream.frames or 0
            every = max(window, total // max(1, max_frames // window)) if total and not live else window
            taken = 0
            for index, frame in enumerate(container.decode(stream)):
                if index % every >= window:
                    continue
                yield index // every, frame.to_ndarray(format="bgr24")
                taken += 1
                if taken >= max_frames:
                    return
    except av.error.FFmpegError as exc:
        raise NotVerifiable(f"neither an image nor a readable video: {exc}") from exc
