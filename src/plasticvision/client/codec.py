"""The live client's image work: a frame shrunk and JPEG-encoded at the pacer's level, a reply decoded."""

from __future__ import annotations

import cv2
import numpy as np

from plasticvision.client.errors import ClientError
from plasticvision.client.pacing import Level


def encode_frame_jpeg(frame: np.ndarray, level: Level) -> tuple[bytes, tuple[int, int]]:
    """The BGR frame as a JPEG no wider than the level's width, and the (width, height) it has there."""
    if frame.shape[1] > level.width:
        height = round(frame.shape[0] * level.width / frame.shape[1])
        frame = cv2.resize(frame, (level.width, height), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, level.quality])
    if not ok:
        raise ClientError(f"cannot encode a frame of shape {frame.shape} as JPEG")
    return jpeg.tobytes(), (frame.shape[1], frame.shape[0])


def decode_reply_frame(payload: bytes, seq: int) -> np.ndarray:
    """A reply's JPEG as a BGR frame; a ClientError naming the frame when it is not one."""
    frame = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        raise ClientError(f"the server sent frame {seq} as something that is not a JPEG")
    return frame
