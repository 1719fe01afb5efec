"""The live path as an object: one stream's face tracker over a session's sources and settings.

`FaceSwapper.swap` detects faces afresh in every frame, which is right for unrelated images
and wrong for a stream: detection is the slowest stage and per-frame detections jitter. A
`LiveStream` keeps one `FaceTracker` for consecutive frames of one stream (a camera, a video,
a WebSocket connection), so faces are followed between detections, smoothed and bridged:

    stream = session.stream()            # or swapper.stream(Settings(mouth_mask=False))
    for frame in frames:
        report = stream.swap(frame)      # SwapReport: .frame, .faces_found, .faces_swapped, ...

Frames must come in order. `swap` may be called from several threads (the server swaps two
frames of one connection at once): only the tracker step is serialised, the rendering of
one frame overlaps the next one's. The stream also keeps its faces' expensive masks between
frames: the dlib engine's occlusion on the tracker's cadence (`TrackedOcclusion`), the neural
engine's crop-space occlusion and region masks every few frames (`StreamCropMasks`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from plasticvision.engines.base import CropMasks, Engine, occluder_of
from plasticvision.pipeline.crop_masks import MASK_EVERY, FrameCropMasks, StreamCropMasks
from plasticvision.pipeline.face_masks import makes_crop_masks
from plasticvision.pipeline.occlusion import Occlusion, TrackedOcclusion
from plasticvision.pipeline.tracking import FaceTracker
from plasticvision.settings import Settings
from plasticvision.types import Face, Frame, SwapReport

DEFAULT_FPS = 30.0
Locate = Callable[[Frame], list[Face]]  # a tracker's `locate`: the faces of the next frame


class FrameSwapper(Protocol):
    """What a stream needs of its session (a `SwapSession`, which makes the streams, so this module
    cannot import it): the engine, a settings check, and a swap that takes a face locator."""

    engine: Engine

    def check_settings(self, settings: Settings) -> None: ...

    def swap(
        self,
        frame: Frame,
        settings: Settings | None = None,
        *,
        locate: Locate | None = None,
        engine: Engine | None = None,
        occlusion: Occlusion | None = None,
        crop_masks: CropMasks | None = None,
    ) -> SwapReport: ...


@dataclass(frozen=True)
class Pending:
    """A warm-up frame that started a mask generation: rendered before the next swapped frame, so that frame
    reuses masks made where a single pass made them."""

    frame: Frame
    faces: list[Face]
    crop_masks: FrameCropMasks


class LiveStream:
    """Tracked swapping of one stream's frames with a session's sources.

    With `settings` None the session's current settings apply to each frame, so a settings
    change (the web app's sliders) takes effect on the next frame of a running stream.
    """

    def __init__(
        self,
        session: FrameSwapper,
        settings: Settings | None = None,
        *,
        fps: float = DEFAULT_FPS,
        engine: Engine | None = None,
        mask_every: int = MASK_EVERY,
    ) -> None:
        if settings is not None:
            session.check_settings(settings)  # an impossible setting fails here, not on frame 1
        self.session = session
        self.settings = settings
        self.engine = engine or session.engine  # a device pool's replica keeps the stream on its device
        self.tracker = FaceTracker(self.engine, fps=fps)
        self._tracker_lock = threading.Lock()
        occluder = occluder_of(self.engine)
        self.occlusion = TrackedOcclusion(occluder) if occluder is not None else None
        self.crop_masks = StreamCropMasks(mask_every)
        self._pending: Pending | None = None

    def swap(self, frame: Frame, settings: Settings | None = None) -> SwapReport:
        """The frame with the source identity swapped into its tracked face(s)."""
        settings = settings or self.settings
        self._prime(settings)
        crop_masks = FrameCropMasks(self.crop_masks)
        return self.session.swap(
            frame,
            settings,
            locate=lambda image: self._locate(image, crop_masks),
            engine=self.engine,
            occlusion=self.occlusion,
            crop_masks=crop_masks,
        )

    def follow(self, frame: Frame) -> list[Face]:
        """Track the frame's faces without swapping them: a video chunk's warm-up frames, which only
        bring the tracker and smoother to where a single pass would be (a frame that begins a mask
        generation is kept, for `_prime`)."""
        crop_masks = FrameCropMasks(self.crop_masks)
        faces = self._locate(frame, crop_masks)
        if crop_masks.starts:
            self._pending = Pending(frame, faces, crop_masks)
        return faces

    def reset(self) -> None:
        """Forget the tracked faces (a cut, a new scene): the next frame detects afresh."""
        with self._tracker_lock:
            self.tracker.reset()
            if self.occlusion is not None:
                self.occlusion.forget()
            self.crop_masks.forget()

    def _prime(self, settings: Settings | None) -> None:
        """After warm-up frames, render the one that started the current mask generation (its output is
        dropped), so the masks this frame reuses were made on the same frame as in a single pass."""
        pending, self._pending = self._pending, None
        if (
            pending is None
            or self.crop_masks.starts_next()
            or not makes_crop_masks(self.engine, settings or self.session.settings)
        ):
            return
        self.session.swap(
            pending.frame,
            settings,
            locate=lambda _: pending.faces,
            engine=self.engine,
            occlusion=self.occlusion,
            crop_masks=pending.crop_masks,
        )

    def _locate(self, frame: Frame, crop_masks: FrameCropMasks) -> list[Face]:
        with self._tracker_lock:
            faces = self.tracker.locate(frame)
            if self.tracker.detected and self.occlusion is not None:
                self.occlusion.observe(frame, self.tracker.detections())  # masks on the tracker's cadence
            self.crop_masks.locate(crop_masks)
            return faces
