"""The invisible watermark: a keyed spread-spectrum pattern added to the luma in a ring around each swapped face.

The pattern is a 64x64-pixel tile of 16x16 random +-1 chips (4x4 pixels each, softly blurred),
repeated over the frame from its origin and added in a box around each swapped face (the face
grown by 30 %, a small face's to 256 px), except on the inner face: brows, eyes, nose and mouth
are what a face recognizer reads, and a mark there moved dlib's identity distance by ~0.05.
Three quarters of the chips are a fixed sync pattern (the scheme's key "PV1"); the other 64
carry 32 bits (a 24-bit install id and its CRC-8), two chips per bit. Repeating a tile makes the
mark survive cropping (a crop only shifts the tile, and `detect.py` searches every shift) and
scaling (it searches scales); 4-pixel chips keep it in the frequencies that JPEG and H.264 keep.
The strength follows the texture (more where hair hides it, less on flat areas), is faded in at
the box's edges and around the inner face, and is scaled down on close-ups so the frame stays
above 40 dB PSNR; it costs only the boxes' pixels per frame.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from plasticvision.types import Face, Frame, Mask

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
MIN_BOX = 256  # pixels: a small face's marked box grows to this side (4 tiles; 2 after halving)
INNER_68 = slice(17, 68)  # brows, nose, eyes, mouth: the inner face, kept clear of the mark (not the jaw line)
KEEP_OUT_GROW = 1.1  # the unmarked inner face: its landmarks' hull grown by this about its centre
KEEP_OUT_GROW_5 = 2.2  # the same from the five points (eyes, nose, mouth corners) alone
KEEP_OUT_FEATHER = 0.08  # of the face's size: the mark eases in over this outside the hull
PLANE_TILES = 17  # the tiled pattern kept ready: any box up to 1024 px a side is a view of it
SPARE_MARGIN = 1.0  # a face found but not swapped stays untouched in its box grown by this (its head, hair and a margin)
PSNR_FLOOR = 40.05  # dB against the unmarked frame, counted on the rounded output: a close-up's mark is scaled down to stay above it
CHIP_BLUR = 0.6  # softens the chips' edges a little (sharper chips kept more of the mark through H.264, VP8 and halving than 1.0)

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
        self._plane = np.tile(self._tile, (PLANE_TILES, PLANE_TILES))  # read-only: patterns are views of it

    def pattern(self, top: int, left: int, height: int, width: int) -> Pattern:
        """The tiled pattern over a height x width area whose corner is frame pixel (top, left)."""
        dy, dx = top % TILE, left % TILE
        plane = self._plane if max(height + dy, width + dx) <= self._plane.shape[0] else np.tile(
            self._tile, (-(-(height + dy) // TILE), -(-(width + dx) // TILE))
        )
        return plane[dy : dy + height, dx : dx + width]

    def mark_faces(self, frame: Frame, faces: Iterable[Face], spare: Iterable[Face] = ()) -> Frame:
        """Mark, in place, the ring around each swapped face; returns the frame.

        The marked area is the face box grown by FACE_MARGIN (a small face's up to MIN_BOX pixels a
        side) less the inner face (the landmarks' hull: what a face recognizer reads), feathered:
        the mark must not move the face's identity. The tiles are anchored at the frame's origin:
        faces side by side add up to one coherent pattern, chips stay on even pixels (halving keeps
        them whole), and a video's frames can be averaged to find it (`verify`). The `spare` faces
        (found, not swapped) and their heads stay untouched. A close-up's mark is scaled down so
        that the frame stays above PSNR_FLOOR. The weights are built at a quarter of the
        resolution: this runs on every live frame.
        """
        height, width = frame.shape[:2]
        placed = [(w, face) for face in faces if (w := marked_box(face.box, width, height)) is not None]
        if not placed:
            return frame
        top, left = min(w[0].start for w, _ in placed) // 4 * 4, min(w[1].start for w, _ in placed) // 4 * 4
        bottom, right = max(w[0].stop for w, _ in placed), max(w[1].stop for w, _ in placed)
        union = (slice(top, bottom), slice(left, right))
        region = frame[union]
        strength = texture_strength(region)
        gain = np.zeros_like(strength)  # at a quarter of the resolution: one value per chip
        for (rows, cols), face in placed:
            chips = on_chips(rows, top), on_chips(cols, left)
            shape = (chips[0].stop - chips[0].start, chips[1].stop - chips[1].start)
            ring = fade_window(*shape) * keep_out(face, top + 4 * chips[0].start, left + 4 * chips[1].start, shape)
            gain[chips] += ring * strength[chips]
        for face in spare:
            if (kept := marked_box(face.box, width, height, SPARE_MARGIN, 0)) is not None:
                gain[on_chips(kept[0], top), on_chips(kept[1], left)] = 0
        # The union's corner is on the chip grid, so each chip takes one gain: nearest upscaling is exact.
        full = cv2.resize(gain, (4 * gain.shape[1], 4 * gain.shape[0]), interpolation=cv2.INTER_NEAREST)
        delta = cv2.multiply(full[: region.shape[0], : region.shape[1]], self.pattern(top, left, *region.shape[:2]))
        magnitude = fit_psnr_budget(delta, height * width * 255.0**2 / 10 ** (PSNR_FLOOR / 10))
        add_luma(region, delta, magnitude)
        return frame


def on_chips(pixels: slice, origin: int) -> slice:
    """Frame pixels as the quarter-resolution chips that touch them, counted from `origin` (on the chip grid)."""
    return slice(max(pixels.start - origin, 0) // 4, max(-(-(pixels.stop - origin) // 4), 0))


def fit_psnr_budget(delta: Pattern, budget: float) -> npt.NDArray[np.uint8]:
    """Scale `delta` down, in place, until the squared error it makes once rounded to whole grey levels
    (what the frame gets) is within `budget`: the PSNR floor holds on the output, not on the floats.
    Returns those rounded magnitudes, |rint(delta)| (the mark stays far below 255)."""
    magnitude = cv2.convertScaleAbs(delta)
    energy = cv2.norm(magnitude, cv2.NORM_L2SQR)
    while energy > budget:  # each pass shrinks delta by 1 % at least, so the rounded error reaches the budget in a few
        delta *= 0.99 * float(np.sqrt(budget / energy))
        magnitude = cv2.convertScaleAbs(delta)
        energy = cv2.norm(magnitude, cv2.NORM_L2SQR)
    return magnitude


def marked_box(
    box: npt.NDArray[np.float32], width: int, height: int, margin: float = FACE_MARGIN, min_box: int = MIN_BOX
) -> tuple[slice, slice] | None:
    """The face box grown by `margin`, or to `min_box` a side for a small face (it needs the pixels
    to survive halving), clipped to the frame; None when too small to mark."""
    x0, y0, x1, y1 = (float(v) for v in box)
    grow_x = max((x1 - x0) * margin, (min_box - (x1 - x0)) / 2)
    grow_y = max((y1 - y0) * margin, (min_box - (y1 - y0)) / 2)
    left, top = max(int(x0 - grow_x), 0), max(int(y0 - grow_y), 0)
    right, bottom = min(int(x1 + grow_x), width), min(int(y1 + grow_y), height)
    if right - left < 2 * FADE or bottom - top < 2 * FADE:
        return None
    return slice(top, bottom), slice(left, right)


def inner_face(face: Face) -> npt.NDArray[np.float32]:
    """The inner face's outline: the hull of the brows', eyes', nose's and mouth's landmarks, grown a
    little, or the five points' hull widened to about the same area for engines that give only five."""
    if face.landmarks_68 is not None:
        points, grow = np.asarray(face.landmarks_68, np.float32)[INNER_68], KEEP_OUT_GROW
    else:
        points, grow = np.asarray(face.landmarks_5, np.float32), KEEP_OUT_GROW_5
    centre = points.mean(axis=0)
    return cv2.convexHull(centre + (points - centre) * grow)


def keep_out(face: Face, top: int, left: int, shape: tuple[int, int]) -> Mask:
    """At a quarter of the resolution, from frame pixel (top, left): 0 over the inner face, easing to
    1 outside it over about KEEP_OUT_FEATHER of the face's size."""
    hull = (inner_face(face) - np.array([left, top], np.float32)) / 4
    small = np.zeros(shape, np.float32)
    cv2.fillConvexPoly(small, np.round(hull).astype(np.int32), 1.0)
    soft = cv2.GaussianBlur(small, (0, 0), max(KEEP_OUT_FEATHER * max(face.width, face.height) / 4, 0.5))
    return np.clip(1.0 - 2.0 * soft, 0.0, 1.0)


def add_luma(region: Frame, delta: Pattern, magnitude: npt.NDArray[np.uint8]) -> None:
    """Add the rounded `delta` (its `magnitude` and sign) to B, G and R alike, in place: it changes luma
    only, which every codec keeps at full resolution. The frame is a view OpenCV writes through; a
    saturating add of the positive part and subtraction of the negative part is the signed add
    (each pixel has one of them), in 8-bit passes: this is on every live frame."""
    negative = cv2.bitwise_and(magnitude, cv2.compare(delta, 0.0, cv2.CMP_LT))
    cv2.add(region, cv2.cvtColor(cv2.subtract(magnitude, negative), cv2.COLOR_GRAY2BGR), dst=region)
    cv2.subtract(region, cv2.cvtColor(negative, cv2.COLOR_GRAY2BGR), dst=region)


@lru_cache(maxsize=64)  # a tracked face's box keeps much the same size from frame to frame; never written to
def fade_window(height: int, width: int) -> Mask:
    """At a quarter of the resolution: 1 inside, easing to 0 over FADE pixels at the edges (a
    separable raised-cosine ramp)."""
    steps = FADE // 4

    def ramp(n: int) -> npt.NDArray[np.float32]:
        edge = 0.5 - 0.5 * np.cos(np.pi * (np.arange(steps, dtype=np.float32) + 0.5) / steps)
        out = np.ones(n, np.float32)
        out[:steps], out[n - steps :] = edge, edge[::-1]
        return out

    return np.outer(ramp(height), ramp(width))


def texture_strength(region: Frame) -> npt.NDArray[np.float32]:
    """Strength in grey levels at a quarter of the resolution (ceil): low on flat areas, where noise
    shows, higher on texture."""
    luma = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)
    luma = cv2.copyMakeBorder(luma, 0, -luma.shape[0] % 4, 0, -luma.shape[1] % 4, cv2.BORDER_REPLICATE)
    for _ in range(2):  # two exact halvings: OpenCV's fast path (one 4x step is 5x slower, an uneven one 30x)
        luma = cv2.resize(luma, (luma.shape[1] // 2, luma.shape[0] // 2), interpolation=cv2.INTER_AREA)
    small = luma.astype(np.float32)
    detail = np.abs(small - cv2.GaussianBlur(small, (0, 0), 1.5))
    activity = cv2.GaussianBlur(detail, (0, 0), 2.0)
    return np.clip(BASE_STRENGTH + TEXTURE_GAIN * activity, BASE_STRENGTH, MAX_STRENGTH)
