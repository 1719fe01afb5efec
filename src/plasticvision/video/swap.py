"""Face swap over a whole video: one session's sources and settings, frame after frame.

The CLI and the job runner both come through here, so they produce the same file. Each
video is one `LiveStream` (the live path, with its own `FaceTracker`): consecutive frames
reuse what the last one found instead of running full detection on each, the face does not
jitter, and a missed detection is bridged instead of flashing the original face.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

from plasticvision.errors import NoSourceFaces
from plasticvision.pipeline.session import SwapSession
from plasticvision.settings import Settings
from plasticvision.types import Frame
from plasticvision.video.process import ProgressCallback, VideoProgress, process_video
from plasticvision.video.reader import probe


@dataclass(frozen=True)
class VideoSwapResult:
    progress: VideoProgress
    frames_with_swap: int  # frames in which at least one face was swapped


def swap_video(
    session: SwapSession,
    settings: Settings,
    source: str | Path,
    output: str | Path,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    temp_dir: Path | None = None,
) -> VideoSwapResult:
    """Swap the session's source identity (or its face map's identities) into every frame of `source`,
    writing an MP4 to `output`."""
    if not session.can_swap:
        raise NoSourceFaces("no source face: give at least one source image, or set a face map")
    stream = session.stream(settings, fps=float(probe(source).fps), chunked=True)  # as its chunks do
    swapped = 0

    def transform(frame: Frame) -> Frame:
        nonlocal swapped
        report = stream.swap(frame)
        swapped += not report.unchanged
        return report.frame

    progress = process_video(
        source, output, transform, on_progress=on_progress, should_stop=should_stop, temp_dir=temp_dir
    )
    return VideoSwapResult(progress, swapped)
