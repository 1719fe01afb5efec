"""MP4 labels saying a video is synthetic: the same IPTC term and note as images carry, then
Content Credentials (C2PA) over the finished file.

Two places, because readers look in different ones: metadata tags (what ffprobe, PyAV and
most players show) and an XMP packet in the ISO-BMFF `uuid` box that Adobe tools and
exiftool read. FFmpeg's MP4 muxer cannot write XMP, so the box is appended after muxing;
a top-level box after `moov`/`mdat` is valid MP4 and does not disturb faststart. The C2PA
manifest is signed after it (`label_video`): anything appended later would break its hash.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

from plasticvision.media.images import SYNTHETIC_NOTE, SYNTHETIC_SOURCE_TYPE, XMP_PACKET
from plasticvision.provenance.credentials import Ingredient
from plasticvision.provenance.labels import label_file

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



def label_video(path: str | Path, source: str | Path | None = None) -> None:
    """The finished MP4's last writes: the XMP box, then the signed C2PA manifest (with `source`'s hash)."""
    append_xmp(path)
    target = file_ingredient(Path(source), "video/mp4") if source is not None and Path(source).is_file() else None
    label_file(path, mime="video/mp4", target=target)


def file_ingredient(path: Path, mime: str) -> Ingredient:
    """A file as an ingredient: its name and SHA-256, read in 1 MiB blocks (videos are large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return Ingredient(path.name, mime, digest.hexdigest())
