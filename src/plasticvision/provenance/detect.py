"""Finds the watermark in a frame that may have been scaled, cropped and re-encoded since.

For each candidate scale the frame's whitened luma is resampled back to the embedding scale
and folded into one 64x64 tile per window (2x2, 3x3 and 5x5 tiles, for small to close-up
faces; a crop or an unknown box corner is then only a cyclic shift); an FFT correlation with the sync pattern finds the shift, and
its peak, in standard deviations of the correlation surface, is the detection score. The
payload is read at the best peak. The thresholds are measured in bench/watermark_bench.py
(false positives on unmarked frames).
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
THRESHOLD_WITH_PAYLOAD = 5.9  # a weaker peak counts when the payload's CRC-8 checks too (above every unmarked score seen: 5.72; at 5.3 one of 741 unmarked real frames passed by a chance CRC)
MAX_SIDE = 4096  # largest resampled side searched
WHITEN_SIGMA = 2.0  # pixels: the high-pass that keeps the 4-pixel chips and drops the picture (2.0 beat 3.0 and 4.0 in the bench after H.264, VP8 and halving)


@dataclass(frozen=True)
class Detection:
    """What the detector found in one frame."""

    marked: bool
    score: float  # the sync peak in standard deviations
    scale: float  # the frame's size relative to the marked frame
    install: int | None  # the payload's install id when its CRC checks

    def to_json(self) -> dict:
        return {
            "marked": self.marked,
            "score": round(self.score, 2),
            "scale": round(self.scale, 3),
            "install_id": None if self.install is None else f"{self.install:06x}",
            "scheme": SCHEME,
        }


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
    score, scale, aligned = search(white, scales)
    if aligned is not None:
        finer = tuple(scale * SCALE_STEP ** (k / REFINE) for k in range(-REFINE + 1, REFINE) if k)
        refined = search(white, finer)
        if refined[0] > score:
            score, scale, aligned = refined
    if aligned is None:
        return Detection(False, 0.0, 1.0, None)
    install = read_payload(aligned)
    marked = score >= THRESHOLD or (score >= THRESHOLD_WITH_PAYLOAD and install is not None)
    return Detection(marked, score, scale, install if marked else None)


def search(white: npt.NDArray[np.float32], scales: tuple[float, ...]) -> tuple[float, float, npt.NDArray[np.float32] | None]:
    """The strongest sync peak over `scales`: its score, scale and the fold it was found in, aligned
    to the tile's origin (None when no scale fits the frame)."""
    sync_hat = np.conj(np.fft.rfft2(sync_tile()))
    best: tuple[float, float, npt.NDArray[np.float32] | None] = (-np.inf, 1.0, None)
    for scale in scales:
        height, width = (round(side / scale) for side in white.shape)
        if max(height, width) > MAX_SIDE or min(height, width) < TILE:
            continue
        resampled = white if scale == 1.0 else cv2.resize(white, (width, height), interpolation=cv2.INTER_LINEAR)
        folds = np.concatenate([window_folds(resampled, k) for k in WINDOW_TILES])
        surfaces = np.fft.irfft2(np.fft.rfft2(folds) * sync_hat, s=(TILE, TILE))
        flat = surfaces.reshape(len(folds), -1)
        z = peak_scores(flat)
        index = int(np.argmax(z))
        if z[index] > best[0]:
            shift = np.unravel_index(int(np.argmax(flat[index])), (TILE, TILE))
            best = (float(z[index]), scale, np.roll(folds[index], (-shift[0], -shift[1]), axis=(0, 1)))
    return best


def peak_scores(flat: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Each surface's peak in standard deviations of its surface. A strong mark's own side lobes
    cap this near 12, far above the threshold, so the cheap statistic is good enough."""
    return (flat.max(axis=1) - flat.mean(axis=1)) / (flat.std(axis=1) + 1e-9)


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
