"""The live stream's wire format (`WS /ws/stream`), both ends: negotiation, frame header, reply header.

Two forms share the endpoint:

* **Seed form** (no `protocol` query): each binary message is a bare JPEG; the server answers
  with the text `{"status": "connected"}` first, then one bare JPEG per processed frame.
* **Protocol 2** (`/ws/stream?protocol=2`): the server's first text is
  `{"status": "connected", "protocol": 2, ...}`. Each frame is `FRAME_HEADER` + JPEG; each reply
  is `REPLY_HEADER` + JPEG, echoing the frame's sequence number and capture time with the
  server's own time, or a header alone with kind `DROPPED` for a frame a newer one overtook.

All integers and floats are big-endian (network order). Sequence numbers must increase on a
connection (gaps are fine: a client skips frames it could not send); capture times are the
client's own clock in milliseconds and are only echoed, never compared with the server's clock.
A frame that breaks these rules gets a text error naming the rule (and its `seq` when the header
was readable); the connection and other clients go on.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from plasticvision.errors import PlasticVisionError

PROTOCOL_SEED = 1
PROTOCOL_V2 = 2
SUPPORTED = (PROTOCOL_SEED, PROTOCOL_V2)
MAGIC = b"PV"

# magic, version, flags, seq, capture time (ms, client clock), reply JPEG quality (0 = server default)
FRAME_HEADER = struct.Struct(">2sBBIdB")
# magic, version, kind, seq, capture time (echoed), server ms (receipt to send), work ms (decode+swap+encode)
REPLY_HEADER = struct.Struct(">2sBBIdff")

KIND_FRAME = 0  # a swapped frame follows the header
KIND_DROPPED = 1  # no payload: a newer frame overtook this one before it was swapped

MAX_SEQ = 2**32 - 1
MAX_CAPTURE_TIME_MS = 1e13  # about the year 2286 in Unix milliseconds; far beyond any monotonic clock
MIN_REPLY_QUALITY, MAX_REPLY_QUALITY = 10, 100


class ProtocolError(PlasticVisionError):
    """A frame or message that breaks the wire format; `seq` is set when the header was readable."""

    type = "protocol_error"

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


@dataclass(frozen=True, slots=True)
class FrameHeader:
    seq: int
    capture_time_ms: float
    reply_quality: int = 0  # 0: the server's default; else the JPEG quality the client wants back

    def pack(self) -> bytes:
        return FRAME_HEADER.pack(MAGIC, PROTOCOL_V2, 0, self.seq, self.capture_time_ms, self.reply_quality)


@dataclass(frozen=True, slots=True)
class ReplyHeader:
    kind: int
    seq: int
    capture_time_ms: float
    server_ms: float
    work_ms: float

    def pack(self) -> bytes:
        return REPLY_HEADER.pack(
            MAGIC, PROTOCOL_V2, self.kind, self.seq, self.capture_time_ms, self.server_ms, self.work_ms
        )


def negotiate(requested: str | None) -> int:
    """The protocol for a `?protocol=` value: none means the seed form."""
    if requested is None or requested == "":
        return PROTOCOL_SEED
    if requested.strip() not in {str(version) for version in SUPPORTED}:
        raise ProtocolError(f"unsupported protocol {requested[:20]!r}; this server speaks 1 (seed) and 2")
    return int(requested)


def connected_message(protocol: int, **extra: object) -> dict[str, object]:
    """The server's first text: exactly `{"status": "connected"}` in the seed form."""
    if protocol == PROTOCOL_SEED:
        return {"status": "connected"}
    return {"status": "connected", "protocol": protocol, **extra}


def encode_frame(seq: int, capture_time_ms: float, jpeg: bytes, reply_quality: int = 0) -> bytes:
    return FrameHeader(seq, capture_time_ms, reply_quality).pack() + jpeg


def decode_frame(data: bytes, last_seq: int | None) -> tuple[FrameHeader, memoryview]:
    """The header and JPEG of a protocol-2 frame, checked: magic, version, seq order, capture time."""
    if len(data) < FRAME_HEADER.size or data[:2] != MAGIC:
        raise ProtocolError(
            f"malformed frame header: protocol 2 frames start with a {FRAME_HEADER.size}-byte header "
            f"beginning with {MAGIC!r} (got {len(data)} bytes starting with {bytes(data[:2])!r})"
        )
    magic, version, _flags, seq, capture_time_ms, reply_quality = FRAME_HEADER.unpack_from(data)
    if version != PROTOCOL_V2:
        raise ProtocolError(f"frame header says version {version}; this connection speaks {PROTOCOL_V2}", seq)
    if last_seq is not None and seq <= last_seq:
        raise ProtocolError(f"frame {seq} came after frame {last_seq}: sequence numbers must increase", seq)
    if not (math.isfinite(capture_time_ms) and 0 <= capture_time_ms <= MAX_CAPTURE_TIME_MS):
        raise ProtocolError(f"capture time {capture_time_ms!r} ms is out of range 0..{MAX_CAPTURE_TIME_MS:.0e}", seq)
    if reply_quality and not MIN_REPLY_QUALITY <= reply_quality <= MAX_REPLY_QUALITY:
        raise ProtocolError(
            f"reply quality {reply_quality} is out of range {MIN_REPLY_QUALITY}..{MAX_REPLY_QUALITY} (0 = default)", seq
        )
    header = FrameHeader(seq, capture_time_ms, reply_quality)
    return header, memoryview(data)[FRAME_HEADER.size :]


def encode_reply(header: ReplyHeader, jpeg: bytes = b"") -> bytes:
    return header.pack() + jpeg


def decode_reply(data: bytes) -> tuple[ReplyHeader, bytes]:
    """The header and JPEG (empty for a dropped frame) of a protocol-2 reply."""
    if len(data) < REPLY_HEADER.size or data[:2] != MAGIC:
        raise ProtocolError(f"malformed reply: expected a {REPLY_HEADER.size}-byte header beginning with {MAGIC!r}")
    _magic, version, kind, seq, capture_time_ms, server_ms, work_ms = REPLY_HEADER.unpack_from(data)
    if version != PROTOCOL_V2 or kind not in (KIND_FRAME, KIND_DROPPED):
        raise ProtocolError(f"reply header version {version} kind {kind} is not protocol 2")
    return ReplyHeader(kind, seq, capture_time_ms, server_ms, work_ms), bytes(data[REPLY_HEADER.size :])
