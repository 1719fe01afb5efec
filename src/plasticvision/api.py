"""The public Python API: `FaceSwapper` (shared models) and its sessions (per-user state).

    swapper = FaceSwapper(engine="dlib")
    swapper.set_sources([bgr_image])
    out = swapper.swap(bgr_frame, Settings(mouth_mask=True))
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from collections.abc import Sequence

from plasticvision.engines.base import Engine, still_detector
from plasticvision.engines.select import choose_engine
from plasticvision.pipeline.session import SwapSession, check_frame
from plasticvision.pipeline.timing import TimingStats
from plasticvision.settings import Settings
from plasticvision.types import Face, Frame, SwapReport

log = logging.getLogger(__name__)


class FaceSwapper:
    """Loads an engine once; `swap`/`set_sources` act on a default session, `new_session` makes more.

    Thread-safe: sessions share the engine, each keeps its own sources and settings.
    """

    def __init__(
        self,
        engine: str | Engine = "auto",
        *,
        models_dir: str | Path | None = None,
    ) -> None:
        if isinstance(engine, str):
            self.engine, self.engine_reason = choose_engine(engine, models_dir)
        else:
            self.engine, self.engine_reason = engine, "engine instance given by the caller"
        log.info("engine: %s (%s)", self.engine.name, self.engine_reason)
        self.stats = TimingStats()
        self.default_session = self.new_session()

    def new_session(self) -> SwapSession:
        return SwapSession(self.engine, self.stats)

    def set_sources(self, images: Sequence[Frame]) -> int:
        """Use these 1-10 BGR images as the source identity; returns how many were loaded."""
        return self.default_session.set_sources(images)

    def swap(self, frame: Frame, settings: Settings | None = None) -> Frame:
        """A new frame with the source identity swapped in (the input is never modified)."""
        return self.default_session.swap(frame, settings).frame

    def swap_report(self, frame: Frame, settings: Settings | None = None) -> SwapReport:
        """Like `swap`, plus how many faces were found and swapped and the stage timings."""
        return self.default_session.swap(frame, settings)

    def detect(self, frame: Frame) -> list[Face]:
        """Every face in the frame with box, landmarks and score, largest first (a still image:
        the engine's thorough detection where it has one)."""
        faces = still_detector(self.engine)(check_frame(frame))
        return sorted(faces, key=lambda f: f.area, reverse=True)

    def info(self) -> dict[str, Any]:
        return {"engine": self.engine.name, "engine_reason": self.engine_reason, **self.engine.info()}
