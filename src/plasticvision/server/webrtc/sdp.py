"""What a WHIP/WHEP request body must be: an SDP offer with one video section we can serve.

aiortc's own parser accepts a lot and fails late (inside `setRemoteDescription`, with
assertion or key errors); checking the few things we rely on first turns a bad body into a
400 that says what was wrong instead of a 500.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from plasticvision.errors import PlasticVisionError

SDP_TYPE = "application/sdp"
TRICKLE_TYPE = "application/trickle-ice-sdpfrag"  # RFC 8840: a trickle ICE PATCH body
MAX_SDP_BYTES = 64 * 1024  # a browser's offer is 3-8 kB


class BadOffer(PlasticVisionError):
    """Not an SDP offer we can serve: not SDP, no video, no ICE credentials or fingerprint, the wrong way."""

    type = "bad_offer"


class BadCandidates(PlasticVisionError):
    """A trickle ICE PATCH body without a candidate we can add (none, or one that does not parse)."""

    type = "bad_candidates"


class NotSdp(PlasticVisionError):
    """A WHIP/WHEP body sent as something other than `application/sdp`."""

    type = "not_sdp"


class Direction(enum.Enum):
    """The offerer's view of its video: what it sends and receives."""

    SENDRECV = "sendrecv"  # the page: camera out, swapped video back
    SENDONLY = "sendonly"  # OBS: push only; players fetch the result by WHEP
    RECVONLY = "recvonly"  # a WHEP player


@dataclass(frozen=True, slots=True)
class Offer:
    sdp: str
    direction: Direction


def parse_offer(content_type: str | None, body: bytes) -> Offer:
    """The offer in a request body, or BadOffer/NotSdp naming the broken rule."""
    if (content_type or "").split(";")[0].strip().lower() != SDP_TYPE:
        raise NotSdp(f"the body must be an SDP offer sent as Content-Type: {SDP_TYPE}, got {content_type or 'none'}")
    if len(body) > MAX_SDP_BYTES:
        raise BadOffer(f"the SDP offer is {len(body)} bytes; the limit is {MAX_SDP_BYTES}")
    try:
        sdp = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadOffer("the SDP offer is not UTF-8 text") from exc
    lines = [line.strip() for line in sdp.splitlines() if line.strip()]
    if not lines or lines[0] != "v=0":
        raise BadOffer("the body is not an SDP offer: it must start with 'v=0'")
    video = video_section(lines)
    if video is None:
        raise BadOffer("the SDP offer has no video section (m=video)")
    if not any(line.startswith(("a=ice-ufrag:", "a=ice-pwd:")) for line in lines):
        raise BadOffer("the SDP offer has no ICE credentials (a=ice-ufrag / a=ice-pwd)")
    if not any(line.startswith("a=fingerprint:") for line in lines):
        raise BadOffer("the SDP offer has no DTLS fingerprint (a=fingerprint)")
    directions = [line[2:] for line in video if line[2:] in {d.value for d in Direction} | {"inactive"}]
    direction = directions[0] if directions else Direction.SENDRECV.value  # RFC 4566: sendrecv by default
    if direction == "inactive":
        raise BadOffer("the offer's video is inactive: nothing to send or receive")
    return Offer(sdp if sdp.endswith("\n") else sdp + "\r\n", Direction(direction))


def parse_trickle(content_type: str | None, body: bytes) -> list[tuple[str | None, str]]:
    """The (mid, candidate) pairs of an RFC 8840 SDP fragment, each candidate the text after `a=candidate:`;
    an `a=end-of-candidates` alone is a valid fragment with none."""
    if (content_type or "").split(";")[0].strip().lower() != TRICKLE_TYPE:
        raise NotSdp(f"a PATCH body must be an SDP fragment sent as Content-Type: {TRICKLE_TYPE}, got {content_type or 'none'}")
    if len(body) > MAX_SDP_BYTES:
        raise BadCandidates(f"the SDP fragment is {len(body)} bytes; the limit is {MAX_SDP_BYTES}")
    try:
        lines = [line.strip() for line in body.decode("utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError as exc:
        raise BadCandidates("the SDP fragment is not UTF-8 text") from exc
    mid, found = None, []
    for line in lines:
        if line.startswith("a=mid:"):
            mid = line.removeprefix("a=mid:")
        elif line.startswith("a=candidate:"):
            found.append((mid, line.removeprefix("a=candidate:")))
    if not found and "a=end-of-candidates" not in lines:
        raise BadCandidates("the SDP fragment has no a=candidate or a=end-of-candidates line")
    return found


def video_section(lines: list[str]) -> list[str] | None:
    """The lines of the first m=video section (its m= line included), if any."""
    start = next((i for i, line in enumerate(lines) if line.startswith("m=video ")), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("m=")), len(lines))
    return lines[start:end]
