"""A capture time drawn above a frame, so latency can be measured end to end through a video codec.

WebRTC carries no per-frame metadata we could echo (the server re-encodes, and RTP timestamps
get a random offset per sender), so the sender adds a strip of black and white cells above
the picture holding the capture time in milliseconds (24 bits, about 4.6 hours before it wraps),
and the receiver reads it back from the swapped frame. Cells are large and two-level, so they
survive VP8/H.264 at low bitrates; the picture itself is untouched. The strip goes on top
because the server's notices ("no source face") cover the bottom rows. `web/js/stamp.js` is its twin.
"""

from __future__ import annotations

import numpy as np

STRIP_HEIGHT = 16  # one codec macroblock row
BITS = 24
CELLS = BITS + 2  # a white and a black guard cell first: a frame without a strip reads as None
MODULO = 1 << BITS
WHITE, BLACK = 255, 0


def cell_width(width: int) -> int:
    return width // CELLS


def stamp(frame: np.ndarray, capture_ms: float) -> np.ndarray:
    """`frame` (H x W x 3 or H x W) with the strip for `capture_ms` added above it."""
    width = frame.shape[1]
    if cell_width(width) < 4:
        raise ValueError(f"a frame {width} px wide is too narrow for a {CELLS}-cell stamp")
    value = int(capture_ms) % MODULO
    levels = [WHITE, BLACK] + [WHITE if value >> (BITS - 1 - i) & 1 else BLACK for i in range(BITS)]
    row = np.zeros(width, np.uint8)
    size = cell_width(width)
    for i, level in enumerate(levels):
        row[i * size : (i + 1) * size] = level
    strip = np.repeat(row[None, :], STRIP_HEIGHT, axis=0)
    if frame.ndim == 3:
        strip = np.repeat(strip[:, :, None], frame.shape[2], axis=2)
    return np.concatenate([strip, frame], axis=0)


def read(luma: np.ndarray) -> int | None:
    """The stamped time (ms modulo 2^24) in the top rows of a grey or luma image; None without a strip."""
    size = cell_width(luma.shape[1])
    if size < 4 or luma.shape[0] < STRIP_HEIGHT:
        return None
    band = luma[4 : STRIP_HEIGHT - 4].astype(np.float32)  # the middle rows: away from the picture's edge
    means = [band[:, i * size + size // 4 : (i + 1) * size - size // 4].mean() for i in range(CELLS)]
    if not (means[0] > 160 and means[1] < 96):
        return None
    value = 0
    for mean in means[2:]:
        value = value << 1 | (mean > 128)
    return value


def elapsed_ms(now_ms: float, stamped: int) -> float:
    """`now_ms - stamped`, both on the sender's clock, across the 2^24 wrap."""
    return (int(now_ms) - stamped) % MODULO


def crop(frame: np.ndarray) -> np.ndarray:
    """The picture without its strip."""
    return frame[STRIP_HEIGHT:]
