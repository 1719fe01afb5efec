"""What counts as a frame: the one check every entry point (swap, detect, sources) applies first."""

from __future__ import annotations

import numpy as np

from plasticvision.errors import BadImage
from plasticvision.types import Frame


def check_frame(frame: object) -> Frame:
    """Refuse anything that is not an HxWx3 uint8 image, with a message saying what arrived."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", None)
        dtype = getattr(frame, "dtype", type(frame).__name__)
        raise BadImage(f"expected an HxWx3 uint8 BGR image, got shape {shape} dtype {dtype}")
    if frame.shape[0] < 8 or frame.shape[1] < 8:
        raise BadImage(f"image is too small ({frame.shape[1]}x{frame.shape[0]})")
    return frame
