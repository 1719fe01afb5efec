"""One stream's crop-space occlusion and region masks: made every few frames, reused in between.

XSeg and BiSeNet cost more per face than the swap itself on a CPU, and a stream does not need
them afresh on every frame: the neural engine makes them in the swapper's aligned crop, where
the face stays put as the head moves, so a mask made on one frame fits the next few as they
are. A `StreamCropMasks` belongs to one `LiveStream` (never shared, so two users' streams never
see each other's masks): every `every` frames it starts a new generation, and each tracked
face's masks are made on the first frame of a generation that renders it and reused until the
next one. The cadence counts the stream's frames (swapped and warm-up alike), so a video chunk,
whose warm-up starts on the tracker's detection cadence, starts its generations on the same
frames as a single pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from plasticvision.pipeline.tracking import DETECT_EVERY
from plasticvision.types import Mask

MASK_EVERY = 5  # masks made afresh every fifth frame: six times a second at 30 fps, a fifth of the cost


@dataclass(frozen=True)
class Kept:
    generation: int
    mask: Mask


class FrameCropMasks:
    """The `CropMasks` one frame hands its engine: the store, seen from the generation the frame was located in."""

    def __init__(self, store: StreamCropMasks) -> None:
        self.store = store
        self.generation = 0  # set when the frame is located (`StreamCropMasks.locate`)
        self.starts = False  # whether this frame started its generation

    def mask(self, track_id: str, key: Hashable, make: Callable[[], Mask]) -> Mask:
        return self.store.lookup(self.generation, (track_id, key), make)


class StreamCropMasks:
    """A stream's masks by (track id, model key), made once per generation of `every` frames.

    Thread-safe: frames of one stream may render at once; a frame that renders after a newer
    generation began makes its masks afresh and keeps nothing, so no mask crosses a generation.
    """

    def __init__(self, every: int = MASK_EVERY) -> None:
        if every < 1 or DETECT_EVERY % every:
            raise ValueError(f"mask cadence must divide the tracker's ({DETECT_EVERY}) so video chunks stay aligned")
        self.every = every
        self._frames = 0
        self._generation = 0
        self._forgot = True
        self._kept: dict[tuple[str, Hashable], Kept] = {}
        self._lock = threading.Lock()

    def locate(self, frame_masks: FrameCropMasks) -> None:
        """The next frame of the stream, in order: give it its generation (and say whether it starts one)."""
        with self._lock:
            starts = self._forgot or self._frames % self.every == 0
            if starts:
                self._generation += 1
                self._kept = {}  # lost tracks and old choices go with their generation
                self._forgot = False
            self._frames += 1
            frame_masks.generation, frame_masks.starts = self._generation, starts

    def starts_next(self) -> bool:
        """Whether the next frame will start a generation."""
        with self._lock:
            return self._forgot or self._frames % self.every == 0

    def forget(self) -> None:
        """A new scene: the next frame makes every mask afresh."""
        with self._lock:
            self._forgot = True

    def lookup(self, generation: int, key: tuple[str, Hashable], make: Callable[[], Mask]) -> Mask:
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept.generation == generation:
            return kept.mask
        mask = make()
        mask.flags.writeable = False  # shared by the frames of a generation
        with self._lock:
            if generation == self._generation:
                self._kept[key] = Kept(generation, mask)
        return mask
