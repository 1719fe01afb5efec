"""Per-user swap state: source faces and settings, separate from the shared models.

A session is small and cheap; many sessions share one engine. Its lock keeps one user's
concurrent requests from interleaving a source upload with a frame.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from plasticvision.engines.base import Engine, SourceFace, still_detector
from plasticvision.errors import BadImage, NoFaceFound, UnsupportedOption
from plasticvision.pipeline.postprocess import STEPS, FaceLayer
from plasticvision.pipeline.timing import StageTimer, TimingStats
from plasticvision.settings import Settings
from plasticvision.types import Face, Frame, SwapReport

MAX_SOURCES = 10


def check_frame(frame: object) -> Frame:
    """Refuse anything that is not an HxWx3 uint8 image, with a message saying what arrived."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", None)
        dtype = getattr(frame, "dtype", type(frame).__name__)
        raise BadImage(f"expected an HxWx3 uint8 BGR image, got shape {shape} dtype {dtype}")
    if frame.shape[0] < 8 or frame.shape[1] < 8:
        raise BadImage(f"image is too small ({frame.shape[1]}x{frame.shape[0]})")
    return frame


def pick_targets(faces: Sequence[Face], swap_all: bool) -> list[Face]:
    """All faces, or only the largest one."""
    if not faces:
        return []
    return list(faces) if swap_all else [max(faces, key=lambda f: f.area)]


class SwapSession:
    """One user's sources and settings, and the per-frame swap that uses them."""

    def __init__(self, engine: Engine, stats: TimingStats | None = None) -> None:
        self.engine = engine
        self.stats = stats or TimingStats()
        self.settings = Settings()
        self._sources: tuple[SourceFace, ...] = ()
        self._lock = threading.Lock()

    @property
    def faces_loaded(self) -> int:
        return len(self._sources)

    @property
    def sources(self) -> tuple[SourceFace, ...]:
        return self._sources

    def set_sources(self, images: Sequence[Frame]) -> int:
        """Prepare 1-10 source images; all-or-nothing, so a bad file never leaves half a set."""
        if not 1 <= len(images) <= MAX_SOURCES:
            raise BadImage(f"expected 1 to {MAX_SOURCES} source images, got {len(images)}")
        prepared = []
        for index, image in enumerate(images, start=1):
            try:
                prepared.append(self.engine.prepare_source(check_frame(image)))
            except NoFaceFound as exc:
                raise NoFaceFound(f"no face found in source image {index} of {len(images)}") from exc
        with self._lock:
            self._sources = tuple(prepared)
        return len(prepared)

    def clear_sources(self) -> None:
        with self._lock:
            self._sources = ()

    def update_settings(self, changes: dict) -> Settings:
        new = self.settings.updated(changes)
        self.check_settings(new)
        self.settings = new
        return new

    def check_settings(self, settings: Settings) -> None:
        if settings.enhance and not self.engine.supports_enhance:
            raise UnsupportedOption(
                f"enhance needs the inswapper engine; the running engine is '{self.engine.name}'"
            )

    def swap(
        self,
        frame: Frame,
        settings: Settings | None = None,
        *,
        locate: Callable[[Frame], list[Face]] | None = None,
    ) -> SwapReport:
        """Swap the source identity into the frame's largest face (or all faces).

        `locate` replaces full detection for streams and videos (a tracker's `locate`), so
        consecutive frames reuse what the last one found.
        """
        settings = settings or self.settings
        self.check_settings(settings)
        frame = check_frame(frame)
        timer = StageTimer()
        with timer.stage("detect"):
            faces = (locate or still_detector(self.engine))(frame)
        report = self.compose(frame, faces, settings, timer)
        self.stats.add(timer.ms)
        return report

    def compose(self, frame: Frame, faces: Sequence[Face], settings: Settings, timer: StageTimer) -> SwapReport:
        """Render and post-process each chosen face into a copy of the frame."""
        sources = self._sources
        out = frame.copy()
        targets = pick_targets(faces, settings.swap_all)
        if not sources or not targets or settings.opacity == 0:
            message = "no source face uploaded" if not sources else ("no face found" if not targets else "opacity 0")
            return SwapReport(out, len(faces), 0, dict(timer.ms), message)
        for target in targets:
            with timer.stage("swap"):
                rendered = self.engine.render(frame, target, sources)
            if settings.enhance:
                with timer.stage("enhance"):
                    rendered = self.engine.enhance(rendered)
            region = rendered.region.slices
            layer = FaceLayer(frame[region], rendered.swapped, rendered.mask, rendered.face, rendered.detail)
            for name, step in STEPS:
                with timer.stage(name):
                    layer = step(layer, settings)
            out[region] = layer.swapped
        return SwapReport(out, len(faces), len(targets), dict(timer.ms), "")
