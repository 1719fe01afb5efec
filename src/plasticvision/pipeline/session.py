"""Per-user swap state: source faces, settings and face map, separate from the shared models.

A session is small and cheap; many sessions share one engine. Its lock keeps one user's
concurrent requests from interleaving a source upload with a frame. An optional `journal`
hears of every change before it takes effect (the server's session store persists it there,
and a refusal leaves the session as it was); the pipeline itself never knows about stores.
"""

from __future__ import annotations

import threading

import cv2
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from plasticvision.engines.base import CropMasks, Engine, SourceFace, occluder_of, still_detector
from plasticvision.pipeline.face_masks import check_model_choices, finish_masks, render_options, wants_occlusion
from plasticvision.errors import UnsupportedOption
from plasticvision.pipeline.frames import check_frame
from plasticvision.pipeline.identities import prepare_sources
from plasticvision.pipeline.mapper import Cast, FaceMapper
from plasticvision.pipeline.occlusion import Occlusion, fresh_occlusion
from plasticvision.pipeline.postprocess import STEPS, FaceLayer
from plasticvision.pipeline.crop_masks import MASK_EVERY
from plasticvision.pipeline.stream import DEFAULT_FPS, LiveStream
from plasticvision.pipeline.timing import StageTimer, TimingStats
from plasticvision.provenance.identity import install_watermarker
from plasticvision.provenance.watermark import Watermarker
from plasticvision.settings import Settings
from plasticvision.types import Face, Frame, SwapReport

Journal = Callable[[str, object], None]
"""`journal(kind, value)` before a change: ("sources", SourceUpload | None), ("settings", {changed fields})
or ("face_map", FaceMapChange)."""


@dataclass(frozen=True)
class SourceUpload:
    """What a source upload changes: the images as given and their prepared form, index for index."""

    images: tuple[Frame, ...]
    prepared: tuple[SourceFace, ...]


class SwapSession:
    """One user's sources, settings and face map, and the per-frame swap that uses them.

    `face_map` holds named identities and target people (who becomes whom); without target
    people the session swaps its default sources (`set_sources`) as it always did.
    """

    def __init__(self, engine: Engine, stats: TimingStats | None = None, marker: Watermarker | None = None) -> None:
        self.engine = engine
        self.stats = stats or TimingStats()
        self.marker = marker or install_watermarker()  # every swapped face carries the install's watermark
        self.settings = Settings()
        self._sources: tuple[SourceFace, ...] = ()
        self._lock = threading.Lock()
        self.journal: Journal | None = None
        self.face_map = FaceMapper(engine)

    @property
    def faces_loaded(self) -> int:
        return len(self._sources)

    @property
    def sources(self) -> tuple[SourceFace, ...]:
        return self._sources

    @property
    def can_swap(self) -> bool:
        """Whether a frame can be swapped: default sources loaded, or a face map set."""
        return bool(self._sources) or self.face_map.state.active

    def set_sources(self, images: Sequence[Frame]) -> int:
        """Prepare 1-10 source images; all-or-nothing, so a bad file never leaves half a set."""
        prepared = prepare_sources(self.engine, images)
        self._record("sources", SourceUpload(tuple(images), prepared))
        self.use_prepared(prepared)
        return len(prepared)

    def use_prepared(self, prepared: Sequence[SourceFace]) -> None:
        """Sources prepared elsewhere (restored from a session store, or by another replica of the same
        engine for a video chunk), so they are not prepared again; not journaled."""
        with self._lock:
            self._sources = tuple(prepared)

    def clear_sources(self) -> None:
        self._record("sources", None)
        self.use_prepared(())

    def update_settings(self, changes: dict) -> Settings:
        new = self.settings.updated(changes)
        self.check_settings(new)
        self._record("settings", new.model_dump(include=set(changes)))
        self.settings = new
        return new

    def attach_journal(self, journal: Journal) -> None:
        """Changes to sources, settings and the face map are told to `journal` before they happen."""
        self.journal = self.face_map.journal = journal

    def _record(self, kind: str, value: object) -> None:
        if self.journal is not None:
            self.journal(kind, value)

    def check_settings(self, settings: Settings) -> None:
        if settings.enhance and not self.engine.supports_enhance:
            raise UnsupportedOption(
                f"enhance needs the inswapper engine; the running engine is '{self.engine.name}'"
            )
        check_model_choices(self.engine, settings)

    def stream(
        self,
        settings: Settings | None = None,
        *,
        fps: float = DEFAULT_FPS,
        engine: Engine | None = None,
        mask_every: int = MASK_EVERY,
        chunked: bool = False,
    ) -> LiveStream:
        """A tracked stream over this session: for consecutive frames of one camera, video or connection.

        `settings` None follows the session's settings as they change; `fps` is the stream's
        nominal frame rate, which times the landmark smoothing; `engine` keeps the stream on one
        replica of the session's engine (a device of the pool); `mask_every` is how often a face's
        crop-space occlusion and region masks are made afresh (1: every frame); `chunked` for a video
        cut into chunks and its single pass, which must give the same frames (see `TrackedOcclusion`).
        """
        return LiveStream(self, settings, fps=fps, engine=engine, mask_every=mask_every, chunked=chunked)

    def swap(
        self,
        frame: Frame,
        settings: Settings | None = None,
        *,
        locate: Callable[[Frame], list[Face]] | None = None,
        engine: Engine | None = None,
        occlusion: Occlusion | None = None,
        crop_masks: CropMasks | None = None,
    ) -> SwapReport:
        """Swap the source identity into the frame's largest face (or all faces), or with a face
        map, each mapped person's identity into them.

        `locate` replaces full detection for streams and videos (a tracker's `locate`), so
        consecutive frames reuse what the last one found. `engine` runs the frame on another
        replica of the session's engine (a device pool's); sources are shared data. `occlusion`
        replaces asking the engine's occluder afresh for every face (a stream's `TrackedOcclusion`), and
        `crop_masks` lets the engine reuse its crop-space masks (a stream's `StreamCropMasks`).
        """
        engine = engine or self.engine
        settings = settings or self.settings
        self.check_settings(settings)
        frame = check_frame(frame)
        timer = StageTimer()
        with timer.stage("detect"):
            faces = (locate or still_detector(engine))(frame)
        with timer.stage("identify"):
            casts = self.face_map.cast(frame, faces, settings.swap_all, self._sources) if settings.opacity else []
        report = self.compose(frame, faces, casts, settings, timer, engine, occlusion, crop_masks)
        self.stats.add(timer.ms)
        return report

    def compose(
        self,
        frame: Frame,
        faces: Sequence[Face],
        casts: Sequence[Cast],
        settings: Settings,
        timer: StageTimer,
        engine: Engine | None = None,
        occlusion: Occlusion | None = None,
        crop_masks: CropMasks | None = None,
    ) -> SwapReport:
        """Render, post-process and watermark each cast face into a copy of the frame.

        Without `occlusion`, the engine's own occluder (if it has one) is asked for every face,
        so what is in front of a target face (glasses, a hand) stays in front of the swap.
        """
        engine = engine or self.engine
        if occlusion is None and (occluder := occluder_of(engine)) is not None:
            occlusion = fresh_occlusion(occluder)
        out = frame.copy()
        if not casts:
            return SwapReport(out, len(faces), 0, dict(timer.ms), self.why_unchanged(faces, settings))
        options = render_options(settings, crop_masks)
        for cast in casts:
            target = cast.face
            with timer.stage("swap"):
                rendered = engine.render(frame, target, cast.sources, options)
            if settings.enhance:
                with timer.stage("enhance"):
                    rendered = engine.enhance(rendered, settings.enhancer)
            region = rendered.region.slices
            face_mask = rendered.face_mask
            occluded = occlusion is not None and wants_occlusion(engine, settings) and "occlusion" not in rendered.masked
            if settings.face_masks:
                with timer.stage("masks"):
                    face_mask = finish_masks(
                        engine, frame[region], rendered, settings, with_occlusion=not occluded, crop_masks=crop_masks
                    )
            if occluded:
                with timer.stage("occlusion"):
                    visible = occlusion(frame, rendered, target)
                face_mask = visible if face_mask is None else cv2.min(face_mask, visible)
            layer = FaceLayer(
                frame[region], rendered.swapped, rendered.mask, rendered.face, rendered.detail, face_mask
            )
            for name, step in STEPS:
                with timer.stage(name):
                    layer = step(layer, settings)
            out[region] = layer.swapped
        with timer.stage("watermark"):
            self.marker.mark_faces(out, (cast.face for cast in casts), spare_faces(faces, casts))
        swapped = tuple((cast.face, cast.identity) for cast in casts)
        return SwapReport(out, len(faces), len(casts), dict(timer.ms), "", swapped)

    def why_unchanged(self, faces: Sequence[Face], settings: Settings) -> str:
        if not self.can_swap:
            return "no source face uploaded"
        if not faces:
            return "no face found"
        return "opacity 0" if settings.opacity == 0 else "no face matches the face map"


def spare_faces(faces: Sequence[Face], casts: Sequence[Cast]) -> list[Face]:
    """The faces found but not swapped: the watermark leaves them, and a margin around them, alone."""
    swapped = {id(cast.face) for cast in casts}
    return [face for face in faces if id(face) not in swapped]
