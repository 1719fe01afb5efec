"""Reusing a face restoration while the face barely changed, so `enhance` does not halve a stream's frame rate."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from collections.abc import Callable

import cv2
import numpy as np

from plasticvision.types import Crop

THUMB_SIZE = 32
TOLERANCE = 2.0  # mean absolute grey-level difference of the thumbnails: below camera noise after averaging
CAPACITY = 8  # faces remembered at once (several faces, several sessions)


@dataclass
class Restoration:
    thumb: np.ndarray
    restored: Crop
    reuses: int = 0


class RestorationReuse:
    """Returns a recent restoration of an aligned crop that looks the same, at most `max_reuses` times.

    Comparing aligned crops (not frame positions) means head motion is already compensated by the
    alignment; only a change of the face itself (expression, lighting, another image) forces a new
    restoration, and `max_reuses` bounds staleness to one real restoration every N+1 frames.
    """

    def __init__(self, max_reuses: int) -> None:
        self.max_reuses = max_reuses
        self._recent: list[Restoration] = []
        self._lock = threading.Lock()

    def restore(self, crop: Crop, restore: Callable[[Crop], Crop]) -> Crop:
        if self.max_reuses <= 0:
            return restore(crop)
        grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        thumb = cv2.resize(grey, (THUMB_SIZE, THUMB_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
        with self._lock:
            for entry in self._recent:
                if entry.reuses < self.max_reuses and float(np.abs(entry.thumb - thumb).mean()) < TOLERANCE:
                    entry.reuses += 1
                    return entry.restored
        restored = restore(crop)
        with self._lock:
            self._recent = [entry for entry in self._recent if entry.reuses < self.max_reuses]
            self._recent = (self._recent + [Restoration(thumb, restored)])[-CAPACITY:]
        return restored
