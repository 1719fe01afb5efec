"""A fake webcam for Chromium: a still 640x480 frame written as a short Y4M clip, which it loops."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 640, 480
FPS = 30


def webcam_frame(image: np.ndarray, background=(90, 110, 120)) -> np.ndarray:
    """The image scaled to the frame's height and centred on a plain 640x480 background (BGR)."""
    size = HEIGHT
    frame = np.full((HEIGHT, WIDTH, 3), background, np.uint8)
    x = (WIDTH - size) // 2
    frame[:, x : x + size] = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return frame


def i420_planes(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.601 limited-range Y, U and V planes (U and V at half resolution), as Chromium expects."""
    b, g, r = (frame[..., i].astype(np.float32) for i in range(3))
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b

    def half(plane: np.ndarray) -> np.ndarray:
        return plane.reshape(HEIGHT // 2, 2, WIDTH // 2, 2).mean(axis=(1, 3))

    return tuple(np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in (y, half(u), half(v)))


def write_y4m(path: Path, frame: np.ndarray, frames: int = FPS) -> Path:
    """A YUV4MPEG2 clip of `frames` copies of `frame`; the header says C420 (not C420mpeg2)."""
    if frame.shape != (HEIGHT, WIDTH, 3):
        raise ValueError(f"expected a {WIDTH}x{HEIGHT} BGR frame, got shape {frame.shape}")
    planes = b"".join(plane.tobytes() for plane in i420_planes(frame))
    with open(path, "wb") as clip:
        clip.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420\n".encode())
        for _ in range(frames):
            clip.write(b"FRAME\n" + planes)
    return path
