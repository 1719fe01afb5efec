"""Finds the watermark in a frame that may have been scaled, cropped and re-encoded since.

For each candidate scale the frame's whitened luma is resampled back to the embedding scale
and folded into one 64x64 tile per window (2x2, 3x3 and 5x5 tiles, for small to close-up
faces; a crop or an unknown box corner is then only a cyclic shift); an FFT correlation with the
sync pattern finds the shift, and the strongest window's peak, in standard deviations of its
correlation surface, is the detection score. The smallest windows are also added up at each
shift (`spread_peak`): every window the mark reaches peaks at the same shift, which finds a mark
that a codec left only in parts of the frame. The payload is read at the best peak. The
thresholds are measured in bench/watermark_bench.py (false positives on unmarked frames).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from plasticvision.provenance.watermark import CHIP, GRID, ID_BITS, PAYLOAD_BITS, SCHEME, TILE, crc8, scheme_key, sync_tile
from plasticvision.types import Frame

SCALE_STEP = 1.03  # a 3 % scale error moves a window's far tile by under two pixels
SCALES = tuple(SCALE_STEP**k for k in range(-27, 10))  # 0.45 .. 1.3, with 1.0 exactly
REFINE = 3  # then thirds of a step around the best scale
WINDOW_TILES = (2, 3, 5)  # window sides in tiles: small faces, webcam faces, close-ups
WINDOW_STRIDE = 2
THRESHOLD = 6.5  # a sync peak this strong is the mark whatever the payload says
SPREAD_THRESHOLD = 8.0  # the windows together (`spread_peak`): above every unmarked frame's seen (7.06 of 2,663), bench/watermark_bench.py
THRESHOLD_WITH_PAYLOAD = 5.9  # a weaker peak counts when the payload's CRC-8 checks too (above every unmarked score seen: 5.72; at 5.3 one of 741 unmarked real frames passed by a chance CRC)
MAX_SIDE = 4096  # largest resampled side searched
WHITEN_SIGMA = 2.0  # pixels: the high-pass that keeps the 4-pixel chips and drops the picture (2.0 beat 3.0 and 4.0 in the bench after H.264, VP8 and halving)


@dataclass(frozen=True)
class Detection:
    """What the detector found in one frame."""

    marked: bool
    score: float  # the strongest window's sync peak in standard deviations
    scale: float  # the frame's size relative to the marked frame
    install: int | None  # the payload's install id when its CRC checks
    spread: float = 0.0  # the windows' peaks at one shift, summed (`spread_peak`), in standard deviations

    def to_json(self) -> dict:
        return {
            "marked": self.marked,
            "score": round(self.score, 2),
            "spread_score": round(self.spread, 2),
            "scale": round(self.scale, 3),
            "install_id": None if self.install is None else f"{self.install:06x}",
            "scheme": SCHEME,
        }


@dataclass(frozen=True)
class Peak:
    """A correlation peak: its score, the scale it was found at, and the fold it was found in,
    rolled to the tile's origin (where the payload is read)."""

    score: float
    scale: float
    aligned: npt.NDArray[np.float32]


def whiten(frame: Frame) -> npt.NDArray[np.float32]:
    """Luma with the picture's own content suppressed: high-passed, then divided by its local spread,
    so busy areas do not outvote the mark and the detection score has a stable scale."""
    luma = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32) if frame.ndim == 3 else frame.astype(np.float32)
    high = luma - cv2.GaussianBlur(luma, (0, 0), WHITEN_SIGMA)
    spread = cv2.sqrt(cv2.GaussianBlur(high * high, (0, 0), 8.0)) + 1.0
    return np.clip(high / spread, -3.0, 3.0)


def detect(frame: Frame, scales: tuple[float, ...] = SCALES) -> Detection:
    """Search `scales` for the mark, then finer scales around the best one (a 1 % scale error
    already moves a 5-tile window's far edge by a chip); scales above the frame's own make it
    smaller, below larger."""
    return detect_whitened(whiten(frame), scales)


def detect_whitened(white: npt.NDArray[np.float32], scales: tuple[float, ...] = SCALES) -> Detection:
    """`detect` on luma already whitened: one frame's, or the mean of a video's frames (the mark
    sits at the same pixels in every frame, the pictures' content does not)."""
    single, spread = search(white, scales)
    if single is None or spread is None:
        return Detection(False, 0.0, 1.0, None)
    finer = tuple(single.scale * SCALE_STEP ** (k / REFINE) for k in range(-REFINE + 1, REFINE) if k)
    refined_single, refined_spread = search(white, finer)
    single = max(single, refined_single or single, key=lambda peak: peak.score)
    spread = max(spread, refined_spread or spread, key=lambda peak: peak.score)
    install = read_payload(single.aligned)
    if single.score >= THRESHOLD or (single.score >= THRESHOLD_WITH_PAYLOAD and install is not None):
        return Detection(True, single.score, single.scale, install, spread.score)
    if spread.score >= SPREAD_THRESHOLD:
        return Detection(True, single.score, spread.scale, read_payload(spread.aligned), spread.score)
    return Detection(False, single.score, single.scale, None, spread.score)


def search(white: npt.NDArray[np.float32], scales: tuple[float, ...]) -> tuple[Peak | None, Peak | None]:
    """Over `scales`: the strongest single window's sync peak, and the strongest peak of the
    smallest windows taken together (`spread_peak`); None when no scale fits the frame."""
    sync_hat = np.conj(np.fft.rfft2(sync_tile()))
    single: Peak | None = None
    spread: Peak | None = None
    for scale in scales:
        height, width = (round(side / scale) for side in white.shape)
        if max(height, width) > MAX_SIDE or min(height, width) < TILE:
            continue
        resampled = white if scale == 1.0 else cv2.resize(white, (width, height), interpolation=cv2.INTER_LINEAR)
        smallest = window_folds(resampled, WINDOW_TILES[0])
        folds = np.concatenate([smallest, *(window_folds(resampled, k) for k in WINDOW_TILES[1:])])
        surfaces = np.fft.irfft2(np.fft.rfft2(folds) * sync_hat, s=(TILE, TILE))
        standard = standardised(surfaces.reshape(len(folds), -1))
        peaks = standard.max(axis=1)
        index = int(np.argmax(peaks))
        if single is None or peaks[index] > single.score:
            single = Peak(float(peaks[index]), scale, to_origin(folds[index], int(np.argmax(standard[index]))))
        candidate = spread_peak(smallest, standard[: len(smallest)], scale)
        if spread is None or candidate.score > spread.score:
            spread = candidate
    return single, spread


def spread_peak(folds: npt.NDArray[np.float32], standard: npt.NDArray[np.float32], scale: float) -> Peak:
    """The windows' evidence added up at each shift: the tiles are anchored at the frame's origin,
    so every window the mark reaches peaks at the same shift, while a picture's chance peaks fall
    anywhere. When a codec keeps only part of the mark in each window (H.264's predicted frames
    where the head moves over a still background), no window is strong alone but together they
    are. Each window's surface, in its own standard deviations, adds its positive part (squares
    would let one window's chance peak outvote the rest); the payload is read from the windows'
    folds weighted the same way."""
    positive = np.maximum(standard, 0.0)
    evidence = positive.sum(axis=0)
    at = int(np.argmax(evidence))
    score = float((evidence[at] - evidence.mean()) / (evidence.std() + 1e-9))
    return Peak(score, scale, to_origin(np.tensordot(positive[:, at], folds, axes=1), at))


def to_origin(fold: npt.NDArray[np.float32], at: int) -> npt.NDArray[np.float32]:
    """`fold` rolled so that the correlation peak at flat index `at` sits at the tile's origin."""
    shift = np.unravel_index(at, (TILE, TILE))
    return np.roll(fold, (-int(shift[0]), -int(shift[1])), axis=(0, 1))


def standardised(flat: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Each correlation surface (a row) in standard deviations of itself, so its peak is a score. A
    strong mark's own side lobes cap the peak near 12, far above the threshold, so the cheap
    statistic is good enough."""
    return (flat - flat.mean(axis=1, keepdims=True)) / (flat.std(axis=1, keepdims=True) + 1e-9)


def window_folds(white: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.float32]:
    """Windows of k x k tiles, WINDOW_STRIDE tiles apart, each folded into one tile.

    A marked box (a face grown by 30 %, at least four tiles across at the embedding scale) always
    has a window over most of it; the image is padded with zeros to whole tiles, so its edges count.
    """
    rows, cols = -(-white.shape[0] // TILE), -(-white.shape[1] // TILE)
    padded = np.zeros((rows * TILE, cols * TILE), np.float32)
    padded[: white.shape[0], : white.shape[1]] = white
    blocks = np.ascontiguousarray(padded.reshape(rows, TILE, cols, TILE).transpose(0, 2, 1, 3))
    k_rows, k_cols = min(k, rows), min(k, cols)
    across = np.stack([blocks[:, c : c + k_cols].sum(axis=1) for c in _starts(cols, k_cols)], axis=1)
    windows = np.stack([across[r : r + k_rows].sum(axis=0) for r in _starts(rows, k_rows)])
    return windows.reshape(-1, TILE, TILE)


def _starts(count: int, k: int) -> list[int]:
    """Window starts WINDOW_STRIDE apart, the last one flush with the edge."""
    starts = list(range(0, count - k + 1, WINDOW_STRIDE))
    return starts if starts[-1] == count - k else [*starts, count - k]


def read_payload(aligned: npt.NDArray[np.float32]) -> int | None:
    """The install id from a fold aligned to the tile's origin, or None when its CRC-8 fails."""
    key = scheme_key()
    chips = aligned.reshape(GRID, CHIP, GRID, CHIP).sum(axis=(1, 3))
    votes = np.zeros(PAYLOAD_BITS, np.float64)
    data = key.bit_of_chip >= 0
    np.add.at(votes, key.bit_of_chip[data], (chips * key.data_sign)[data])
    word = 0
    for vote in votes:
        word = (word << 1) | int(vote > 0)
    install, crc = word >> 8, word & 0xFF
    return install if crc8(install) == crc and install < (1 << ID_BITS) else None
