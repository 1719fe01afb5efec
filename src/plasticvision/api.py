"""The public Python API: `FaceSwapper` (shared models) and its sessions (per-user state).

    swapper = FaceSwapper(engine="dlib")
    swapper.set_sources([bgr_image])
    out = swapper.swap(bgr_frame, Settings(mouth_mask=True))
    stream = swapper.stream()                     # consecutive frames: faces tracked and smoothed
    report = stream.swap(camera_frame)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from collections.abc import Sequence

from plasticvision.config import model_store
from plasticvision.engines.base import Engine, still_detector
from plasticvision.engines.devices import Device, chosen_devices
from plasticvision.engines.pool import EnginePool, Replica
from plasticvision.pipeline.frames import check_frame
from plasticvision.pipeline.mapper import FaceMapper
from plasticvision.pipeline.session import SwapSession
from plasticvision.pipeline.crop_masks import MASK_EVERY
from plasticvision.pipeline.stream import DEFAULT_FPS, LiveStream
from plasticvision.pipeline.timing import TimingStats
from plasticvision.settings import Settings
from plasticvision.types import Face, Frame, SwapReport

log = logging.getLogger(__name__)


class FaceSwapper:
    """Loads an engine once (or once per device); `swap`/`set_sources` act on a default session,
    `new_session` makes more.

    Thread-safe: sessions share the engine, each keeps its own sources and settings. With several
    devices (`devices="0,1"` or `"cpu:2"`) `pool` holds one engine per device; `engine` is the first.
    """

    def __init__(
        self,
        engine: str | Engine | EnginePool = "auto",
        *,
        models_dir: str | Path | None = None,
        devices: str | Sequence[Device] | None = None,
    ) -> None:
        if isinstance(engine, EnginePool):
            self.pool, self.engine_reason = engine, "engine pool given by the caller"
        elif isinstance(engine, str):
            self.pool, self.engine_reason = EnginePool.load(engine, chosen_devices(devices), model_store(models_dir))
        else:
            self.pool = EnginePool([Replica(Device("default"), engine)])
            self.engine_reason = "engine instance given by the caller"
        self.engine = self.pool.engine
        log.info("engine: %s (%s)", self.engine.name, self.engine_reason)
        self.stats = TimingStats()
        self.default_session = self.new_session()

    def new_session(self) -> SwapSession:
        return SwapSession(self.engine, self.stats)

    def set_sources(self, images: Sequence[Frame]) -> int:
        """Use these 1-10 BGR images as the source identity; returns how many were loaded."""
        return self.default_session.set_sources(images)

    @property
    def face_map(self) -> FaceMapper:
        """The default session's identities and face map: who becomes whom (see `FaceMapper`)."""
        return self.default_session.face_map

    def swap(self, frame: Frame, settings: Settings | None = None) -> Frame:
        """A new frame with the source identity swapped in (the input is never modified)."""
        return self.default_session.swap(frame, settings).frame

    def swap_report(self, frame: Frame, settings: Settings | None = None) -> SwapReport:
        """Like `swap`, plus how many faces were found and swapped and the stage timings."""
        return self.default_session.swap(frame, settings)

    def stream(
        self, settings: Settings | None = None, *, fps: float = DEFAULT_FPS, mask_every: int = MASK_EVERY
    ) -> LiveStream:
        """A tracked stream on the default session: `stream.swap(frame)` for each frame of a camera or video
        (occlusion and region masks made every `mask_every` frames and reused in between)."""
        return self.default_session.stream(settings, fps=fps, mask_every=mask_every)

    def detect(self, frame: Frame) -> list[Face]:
        """Every face in the frame with box, landmarks and score, largest first (on the least busy device;
        a still image: the engine's thorough detection where it has one)."""
        frame = check_frame(frame)
        faces = self.pool.run(lambda engine: still_detector(engine)(frame))
        return sorted(faces, key=lambda f: f.area, reverse=True)

    def swap_on_pool(self, session: SwapSession, frame: Frame, settings: Settings | None = None) -> SwapReport:
        """One frame of any session, on the least busy device (streams keep theirs: `pool.attach`)."""
        return self.pool.run(lambda engine: session.swap(frame, settings, engine=engine))

    def info(self) -> dict[str, Any]:
        return {"engine": self.engine.name, "engine_reason": self.engine_reason, **self.engine.info()}
