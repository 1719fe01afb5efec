"""The invisible watermark: a keyed spread-spectrum pattern added to the luma around each swapped face.

The pattern is a 64x64-pixel tile of 16x16 random +-1 chips (4x4 pixels each, softly blurred),
repeated over a box around the face (the face grown by 30 %), anchored at the box's corner.
Three quarters of the chips are a fixed sync pattern (the scheme's key "PV1"); the other 64
carry 32 bits (a 24-bit install id and its CRC-8), two chips per bit. Repeating a tile makes the mark survive cropping (a crop
only shifts the tile, and `detect.py` searches every shift) and scaling (it searches scales);
4-pixel chips keep it in the frequencies that JPEG and H.264 keep. The strength follows the
box's texture (more where hair or busy skin hides it, less on flat cheeks), is faded in at the
box's edges, and is scaled down on close-ups so the frame stays above 40 dB PSNR; it costs only
the box's pixels per frame.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from plasticvision.types import Frame, Mask

SCHEME = "PV1"
CHIP = 4  # pixels per chip side at the embedding scale
GRID = 16  # chips per tile side
TILE = CHIP * GRID  # 64 pixels
PAYLOAD_BITS = 32  # 24-bit install id + CRC-8
ID_BITS = 24
SYNC_CHIPS = GRID * GRID * 3 // 4  # 192 find the mark; the other 64 carry the payload, two chips a bit
FACE_MARGIN = 0.3  # the marked box: the face box grown by this much of its size on every side
FADE = TILE // 4  # pixels over which the mark fades in at the box's edges (no visible seam)
BASE_STRENGTH = 2.0  # grey levels per unit of pattern on flat skin (H.264 at CRF 28 erases much less than 1.5)
TEXTURE_GAIN = 1.5  # extra strength per grey level of local activity (texture hides the mark)
MAX_STRENGTH = 8.0
PSNR_FLOOR = 40.5  # dB against the unmarked frame: a close-up's mark is scaled down to stay above it
CHIP_BLUR = 1.0  # softens the chips' edges (less visible, and what codecs keep)

Pattern = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Key:
    """The tile layout for a scheme: which chips sync, which carry which bit, with what sign."""

    sync: npt.NDArray[np.float32]  # GRID x GRID: +-1 on sync chips, 0 elsewhere
    bit_of_chip: npt.NDArray[np.int16]  # GRID x GRID: the payload bit a data chip carries, -1 on sync chips
    data_sign: npt.NDArray[np.float32]  # GRID x GRID: +-1 on data chips, 0 elsewhere


@lru_cache(maxsize=4)
def scheme_key(scheme: str = SCHEME) -> Key:
    seed = int.from_bytes(hashlib.sha256(f"PlasticVision watermark {scheme}".encode()).digest()[:8], "big")
    rng = np.random.default_rng(seed)
    order = rng.permutation(GRID * GRID)
    signs = rng.choice(np.array([-1.0, 1.0], np.float32), GRID * GRID)
    sync = np.zeros(GRID * GRID, np.float32)
    sync[order[:SYNC_CHIPS]] = signs[order[:SYNC_CHIPS]]
    bit_of_chip = np.full(GRID * GRID, -1, np.int16)
    data = order[SYNC_CHIPS:]
    bit_of_chip[data] = np.arange(data.size) % PAYLOAD_BITS
    data_sign = np.zeros(GRID * GRID, np.float32)
    data_sign[data] = signs[data]
    shape = (GRID, GRID)
    return Key(sync.reshape(shape), bit_of_chip.reshape(shape), data_sign.reshape(shape))


def crc8(value: int, nbytes: int = 3) -> int:
    """CRC-8 (polynomial 0x07) of the id's bytes: tells a decoded payload from noise."""
    crc = 0
    for byte in value.to_bytes(nbytes, "big"):
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def payload_bits(install: int) -> npt.NDArray[np.float32]:
    """The 32 payload bits as +-1: the install id (24 bits, high first), then its CRC-8."""
    word = ((install & ((1 << ID_BITS) - 1)) << 8) | crc8(install)
    return np.array([1.0 if word >> (PAYLOAD_BITS - 1 - i) & 1 else -1.0 for i in range(PAYLOAD_BITS)], np.float32)


def chips_to_tile(chips: npt.NDArray[np.float32]) -> Pattern:
    """GRID x GRID chip values -> the TILE x TILE pixel pattern (blurred cyclically, so tiles join seamlessly)."""
    tile = np.kron(chips, np.ones((CHIP, CHIP), np.float32))
    wrapped = np.tile(tile, (3, 3))
    blurred = cv2.GaussianBlur(wrapped, (0, 0), CHIP_BLUR)
    return np.ascontiguousarray(blurred[TILE : 2 * TILE, TILE : 2 * TILE])


def sync_tile(scheme: str = SCHEME) -> Pattern:
    return chips_to_tile(scheme_key(scheme).sync)


@lru_cache(maxsize=16)
def message_tile(install: int, scheme: str = SCHEME) -> Pattern:
    """The full tile for one install: sync chips plus the payload's data chips, unit RMS."""
    key = scheme_key(scheme)
    bits = payload_bits(install)
    chips = key.sync + key.data_sign * np.where(key.bit_of_chip >= 0, bits[np.maximum(key.bit_of_chip, 0)], 0.0)
    tile = chips_to_tile(chips.astype(np.float32))
    return tile / float(np.sqrt(np.mean(tile**2)))


class Watermarker:
    """Marks swapped regions with one install's payload. Immutable and thread-safe; build once per process."""

    def __init__(self, install: int, scheme: str = SCHEME) -> None:
        self.install = install
        self.scheme = scheme
        self._tile = message_tile(install, scheme)

    def pattern(self, height: int, width: int) -> Pattern:
        reps = (-(-height // TILE), -(-width // TILE))
        return np.tile(self._tile, reps)[:height, :width]

    def delta(self, region: Frame, weight: Mask | None = None) -> Pattern:
        """The luma change for a region: the tiled pattern at the texture's strength, times `weight`."""
        height, width = region.shape[:2]
        strength = texture_strength(region)
        if weight is not None:
            strength *= weight
        return strength * self.pattern(height, width)

    def mark_faces(self, frame: Frame, boxes: Iterable[npt.NDArray[np.float32]]) -> Frame:
        """Mark, in place, a box around each swapped face (`x0, y0, x1, y1`); returns the frame.

        The box is the face grown by FACE_MARGIN: the swap's whole neighbourhood carries the mark,
        which gives the detector about three times the pixels of the face mask alone. A close-up
        face's mark is scaled down so that the frame stays above PSNR_FLOOR.
        """
        height, width = frame.shape[:2]
        windows = [w for w in (marked_box(box, width, height) for box in boxes) if w is not None]
        deltas = [self.delta(frame[w], fade_window(w[0].stop - w[0].start, w[1].stop - w[1].start)) for w in windows]
        energy = sum(float(np.dot(d.ravel(), d.ravel())) for d in deltas)
        budget = height * width * 255.0**2 / 10 ** (PSNR_FLOOR / 10)
        gain = min(1.0, float(np.sqrt(budget / energy))) if energy > 0 else 1.0
        for window, delta in zip(windows, deltas):
            frame[window] = add_luma(frame[window], delta * gain if gain < 1.0 else delta)
        return frame


def marked_box(box: npt.NDArray[np.float32], width: int, height: int) -> tuple[slice, slice] | None:
    """The face box grown by FACE_MARGIN and clipped to the frame; None when too small to mark."""
    x0, y0, x1, y1 = (float(v) for v in box)
    grow_x, grow_y = (x1 - x0) * FACE_MARGIN, (y1 - y0) * FACE_MARGIN
    left, top = max(int(x0 - grow_x), 0), max(int(y0 - grow_y), 0)
    right, bottom = min(int(x1 + grow_x), width), min(int(y1 + grow_y), height)
    if right - left < 2 * FADE or bottom - top < 2 * FADE:
        return None
    return slice(top, bottom), slice(left, right)


def add_luma(region: Frame, delta: Pattern) -> Frame:
    """Add `delta` to B, G and R alike: it changes luma only, which every codec keeps at full resolution.
    (One saturating, rounding OpenCV pass: it is on every live frame.)"""
    return cv2.add(region, cv2.merge((delta, delta, delta)), dtype=cv2.CV_8U)


@lru_cache(maxsize=64)  # a tracked face's box keeps much the same size from frame to frame; never written to
def fade_window(height: int, width: int) -> Mask:
    """1 inside, easing to 0 over FADE pixels at the edges (a separable raised-cosine ramp)."""
    def ramp(n: int) -> npt.NDArray[np.float32]:
        edge = 0.5 - 0.5 * np.cos(np.pi * (np.arange(FADE, dtype=np.float32) + 0.5) / FADE)
        out = np.ones(n, np.float32)
        out[:FADE], out[n - FADE :] = edge, edge[::-1]
        return out

    return np.outer(ramp(height), ramp(width))


def texture_strength(region: Frame) -> npt.NDArray[np.float32]:
    """Per-pixel strength in grey levels: low on flat areas, where noise shows, higher on texture."""
    luma = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY).astype(np.float32)
    small = cv2.resize(luma, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA) if min(luma.shape) >= 32 else luma
    detail = np.abs(small - cv2.GaussianBlur(small, (0, 0), 1.5))
    activity = cv2.GaussianBlur(detail, (0, 0), 2.0)
    strength = np.clip(BASE_STRENGTH + TEXTURE_GAIN * activity, BASE_STRENGTH, MAX_STRENGTH)
    if strength.shape != luma.shape:
        strength = cv2.resize(strength, (luma.shape[1], luma.shape[0]), interpolation=cv2.INTER_LINEAR)
    return strength
