"""BGR uint8 images to the NCHW float32 RGB tensors the models take: `(x - mean) / std`, one pass per plane.

OpenCV 5's `dnn.blobFromImage` costs about 8 ms for a 640x640 image on a laptop core; splitting
the planes and scaling each with `addWeighted` (which converts to float on the way) costs ~1 ms.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from plasticvision.types import Frame

RGB_FROM_BGR = (2, 1, 0)  # blob channel of each BGR plane


def rgb_blob(
    image: Frame, mean: float | Sequence[float], std: float | Sequence[float], out: np.ndarray | None = None
) -> np.ndarray:
    """The 1x3xHxW RGB blob of `image`; with `out`, written into its top-left corner (the rest is kept).

    `mean` and `std` are one value for all channels or three, in RGB order (in the image's units).
    """
    h, w = image.shape[:2]
    blob = np.empty((1, 3, h, w), np.float32) if out is None else out
    means, stds = np.broadcast_to(mean, 3), np.broadcast_to(std, 3)
    for plane, channel in zip(cv2.split(image), RGB_FROM_BGR):
        target = blob[0, channel, :h, :w]
        scale, shift = 1.0 / float(stds[channel]), -float(means[channel]) / float(stds[channel])
        if target.flags.c_contiguous:  # OpenCV writes straight into the blob: no temporary, no copy
            cv2.addWeighted(plane, scale, plane, 0.0, shift, dst=target, dtype=cv2.CV_32F)
        else:
            target[...] = cv2.addWeighted(plane, scale, plane, 0.0, shift, dtype=cv2.CV_32F)
    return blob


def bgr_image(blob: np.ndarray, scale: float, offset: float) -> Frame:
    """The BGR uint8 image of a 1x3xHxW RGB output: `x * scale + offset`, rounded and saturated to 0..255.

    Saturation is the clip to the model's output range (e.g. [-1, 1] with scale 127.5, offset 127.5).
    """
    planes = [cv2.addWeighted(blob[0, c], scale, blob[0, c], 0.0, offset, dtype=cv2.CV_8U) for c in RGB_FROM_BGR]
    return cv2.merge(planes)
