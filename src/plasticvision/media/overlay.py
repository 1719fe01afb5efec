"""The notice drawn on stream frames that cannot be swapped yet (no source face uploaded)."""

from __future__ import annotations

import cv2

from plasticvision.types import Frame

NO_SOURCE_NOTICE = "Upload a source face to start swapping"
BAND_COLOUR = (32, 32, 32)
TEXT_COLOUR = (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def draw_notice(frame: Frame, text: str) -> Frame:
    """A copy of the frame with `text` centred on a dark band along the bottom, sized to the frame."""
    out = frame.copy()
    height, width = out.shape[:2]
    scale = max(width / 1000, 0.35)
    thickness = max(1, round(scale * 2))
    (text_w, text_h), baseline = cv2.getTextSize(text, FONT, scale, thickness)
    band = text_h + baseline + 2 * max(4, text_h // 2)
    cv2.rectangle(out, (0, height - band), (width, height), BAND_COLOUR, -1)
    origin = (max((width - text_w) // 2, 2), height - (band - text_h) // 2)
    cv2.putText(out, text, origin, FONT, scale, TEXT_COLOUR, thickness, cv2.LINE_AA)
    return out
