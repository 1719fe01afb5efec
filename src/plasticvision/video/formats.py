"""The one gate every video file passes before FFmpeg reads it: an allow-list of containers and codecs.

FFmpeg opens anything it can probe, and some of what it can probe is dangerous on a server:
an HLS playlist (`.m3u8`) makes it read the local files (and http(s) URLs) it names; image
demuxers turn a PNG or an animated GIF into a "video". So the container is recognised here
from its first bytes, by us, and FFmpeg is told which demuxer to use (it never probes), with
no protocol but `file`. The streams it finds must then use a codec of the allow-list. The
suffix of an upload plays no part: uploads are saved under our own name.
"""

from __future__ import annotations

from pathlib import Path

import av
import av.container
import av.error

from plasticvision.errors import BadVideo

SNIFF_BYTES = 4096
TS_PACKET = 188
MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")
CONTAINERS = {  # our name -> FFmpeg's demuxer; the names users read in error messages
    "MP4/MOV": "mov",
    "Matroska/WebM": "matroska",
    "AVI": "avi",
    "MPEG-TS": "mpegts",
    "Y4M": "yuv4mpegpipe",
}
VIDEO_CODECS = frozenset({
    "h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mpeg2video", "mpeg1video", "mjpeg", "rawvideo",
    "prores", "dnxhd", "ffv1", "theora", "h263", "msmpeg4v2", "msmpeg4v3", "dvvideo",
})
AUDIO_CODECS = frozenset({
    "aac", "mp3", "mp2", "opus", "vorbis", "ac3", "eac3", "flac", "alac",
    "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_u8", "pcm_mulaw", "pcm_alaw",
})
REFUSED = (  # what some first bytes are, when they are something we refuse by name
    (b"#EXTM3U", "a playlist (HLS .m3u8), not a video; upload the video file itself"),
    (b"GIF8", "an animated GIF, which is not a video (swap-image takes images)"),
    (b"\x89PNG", "a PNG image, not a video (swap-image takes images)"),
    (b"\xff\xd8\xff", "a JPEG image, not a video (swap-image takes images)"),
)
OPTIONS = {"protocol_whitelist": "file", "enable_drefs": "0"}  # nested opens stay local; MOV data references are not followed


class UnsupportedContainer(BadVideo):
    """A file recognised as something we refuse (a playlist, an image) or using a codec off the allow-list."""

    type = "unsupported_container"


def allowed_containers() -> str:
    return ", ".join(CONTAINERS)


def sniff(head: bytes) -> str | None:
    """FFmpeg's demuxer for a file starting with `head`, if it is an allowed container; else None."""
    if head[4:8] in MP4_BOXES:
        return CONTAINERS["MP4/MOV"]
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return CONTAINERS["Matroska/WebM"]
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return CONTAINERS["AVI"]
    if head.startswith(b"YUV4MPEG2"):
        return CONTAINERS["Y4M"]
    if len(head) > 2 * TS_PACKET and all(head[i] == 0x47 for i in (0, TS_PACKET, 2 * TS_PACKET)):
        return CONTAINERS["MPEG-TS"]
    return None


def container_format(path: Path, name: str) -> str:
    """The demuxer for `path`, or UnsupportedContainer saying what the file is and what is allowed."""
    try:
        with open(path, "rb") as file:
            head = file.read(SNIFF_BYTES)
    except OSError as exc:
        raise BadVideo(f"cannot read {name}: {exc.strerror or exc}") from exc
    demuxer = sniff(head)
    if demuxer is not None:
        return demuxer
    what = next((kind for magic, kind in REFUSED if head.lstrip().startswith(magic)), None)
    if what is None:  # bytes we do not recognise at all: as unreadable as a damaged file
        raise BadVideo(f"{name}: not a readable video (accepted containers: {allowed_containers()})")
    raise UnsupportedContainer(f"{name}: {what}; accepted containers: {allowed_containers()}")


def check_codecs(container: av.container.InputContainer, name: str) -> None:
    """Every video and audio stream must use an allowed codec (cover art and data streams are ignored)."""
    for stream in container.streams:
        allowed = {"video": VIDEO_CODECS, "audio": AUDIO_CODECS}.get(stream.type)
        if allowed is None or (stream.type == "video" and stream.disposition & av.stream.Disposition.attached_pic):
            continue
        codec = stream.codec_context.codec.canonical_name  # the format's name, not the decoder's (mp3float)
        if codec not in allowed:
            raise UnsupportedContainer(f"{name}: the {stream.type} codec {codec!r} is not accepted")


def open_container(path: str | Path, name: str | None = None) -> av.container.InputContainer:
    """Open a local video file for reading, only if its container and codecs are on the allow-list.

    Raises UnsupportedContainer (a BadVideo) for anything else, BadVideo for a file FFmpeg cannot read.
    """
    path = Path(path)
    name = name or path.name
    demuxer = container_format(path, name)
    try:
        container = av.open(str(path), "r", format=demuxer, options=OPTIONS)
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise BadVideo(f"{name}: not a readable video ({getattr(exc, 'strerror', None) or exc})") from exc
    except OSError as exc:
        raise BadVideo(f"cannot read {name}: {exc.strerror or exc}") from exc
    try:
        check_codecs(container, name)
    except BaseException:
        container.close()
        raise
    return container
