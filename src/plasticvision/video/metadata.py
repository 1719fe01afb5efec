"""MP4 labels saying a video is synthetic: the same IPTC term and note as images carry.

Two places, because readers look in different ones: metadata tags (what ffprobe, PyAV and
most players show) and an XMP packet in the ISO-BMFF `uuid` box that Adobe tools and
exiftool read. FFmpeg's MP4 muxer cannot write XMP, so the box is appended after muxing;
a top-level box after `moov`/`mdat` is valid MP4 and does not disturb faststart.
"""

from __future__ import annotations

import struct
from pathlib import Path

from plasticvision.media.images import SYNTHETIC_NOTE, SYNTHETIC_SOURCE_TYPE, XMP_PACKET

SYNTHETIC_TAGS = {
    "description": SYNTHETIC_NOTE,
    "comment": SYNTHETIC_NOTE,
    "DigitalSourceType": SYNTHETIC_SOURCE_TYPE,
}
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")  # the XMP spec's UUID for ISO-BMFF files


def xmp_box() -> bytes:
    payload = XMP_UUID + XMP_PACKET.encode("utf-8")
    return struct.pack(">I4s", 8 + len(payload), b"uuid") + payload


def append_xmp(path: str | Path) -> None:
    """Add the synthetic-media XMP packet to a finished MP4 as a top-level `uuid` box."""
    with open(path, "ab") as handle:
        handle.write(xmp_box())

