"""Which files FFmpeg may open as videos: real containers only, told by their first bytes, never by name.

Left to probe, FFmpeg picks from hundreds of demuxers, some of which read more than the file:
an HLS or concat playlist makes it open the local files (or URLs) the playlist names, image
demuxers render a still, `tty` renders text. So the container is recognised here from its
magic bytes and FFmpeg is told which demuxer to use: a playlist, an image or anything unknown
is refused before FFmpeg parses a byte, and the file's suffix (the client's choice) plays no
part. Only the `file` protocol is allowed, so no demuxer can reach out either.
"""

from __future__ import annotations

from pathlib import Path

import av
import av.container

from plasticvision.errors import BadVideo

SNIFF_BYTES = 1024
ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")  # MP4, MOV, M4V, 3GP
TS_PACKET = 188
OPTIONS = {"protocol_whitelist": "file", "enable_drefs": "0"}  # no network, no external data references
CONTAINERS = "MP4, MOV, M4V, 3GP, MKV, WebM, AVI, MPEG-TS, MPEG-PS, FLV, Ogg, WMV/ASF, Y4M"


IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
PLAYLIST_MAGIC = (b"#EXTM3U", b"ffconcat", b"<?xml", b"[playlist]")


class UnsupportedContainer(BadVideo):
    """415, like any file that is not a video; the message says what it looked like."""


def sniff_demuxer(head: bytes) -> str | None:
    """FFmpeg's demuxer for a file starting with `head`, or None when it is not an allowed container."""
    if head[4:8] in ISO_BOXES:
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"  # also WebM
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if len(head) > 2 * TS_PACKET and head[0] == head[TS_PACKET] == head[2 * TS_PACKET] == 0x47:
        return "mpegts"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpeg"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "asf"
    if head.startswith(b"YUV4MPEG2 "):
        return "yuv4mpegpipe"
    return None


def demuxer_for(path: Path, name: str | None = None) -> str:
    """The demuxer for the file at `path`; UnsupportedContainer (naming the file as `name`) for anything else."""
    with open(path, "rb") as file:
        head = file.read(SNIFF_BYTES)
    demuxer = sniff_demuxer(head)
    if demuxer is None:
        raise UnsupportedContainer(f"{name or path.name}: {what_it_is(head)}, not a video container ({CONTAINERS})")
    return demuxer


def what_it_is(head: bytes) -> str:
    if not head:
        return "an empty file"
    if head.lstrip().startswith(PLAYLIST_MAGIC):
        return "a playlist or manifest (it would make the server read other files)"
    if head.startswith(IMAGE_MAGIC):
        return "a still image (swap-image takes images)"
    return "an unknown format"


def open_container(path: str | Path, name: str | None = None) -> av.container.InputContainer:
    """`av.open` for reading an untrusted video: the allowed container's own demuxer, local file only."""
    path = Path(path)
    return av.open(str(path), "r", format=demuxer_for(path, name), options=dict(OPTIONS))
