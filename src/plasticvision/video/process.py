"""Decode, transform and encode a whole video file, with progress, cancellation and no debris.

The output appears only when complete: frames go to a temporary file that is renamed into
place at the end, and any failure, cancellation or Ctrl-C deletes it. The CLI and the job
runner both call `process_video`; only their progress displays differ.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from collections.abc import Callable

from plasticvision.errors import DiskFull
from plasticvision.types import Frame
from plasticvision.video.disk_full import is_disk_full
from plasticvision.video.metadata import append_xmp
from plasticvision.video.reader import VideoReader
from plasticvision.video.threads import RunAhead, RunBehind
from plasticvision.video.writer import VideoWriter

PROGRESS_INTERVAL_S = 0.25  # progress reports per second are capped: a bar or SSE needs no more

Transform = Callable[[Frame], Frame]


class Cancelled(Exception):
    """The caller asked to stop; the partial output has been removed."""


@dataclass(frozen=True)
class VideoProgress:
    """Where a video is: what the progress bar, `GET /jobs/{id}` and the SSE events show."""

    stage: str  # "processing", "finalizing" (flush + faststart rewrite), "done"
    frames_done: int
    frames_total: int  # an estimate from the header; 0 when the file does not say
    fps: float
    eta_s: float | None
    elapsed_s: float

    def to_json(self) -> dict:
        data = asdict(self)
        data["fps"] = round(self.fps, 2)
        data["elapsed_s"] = round(self.elapsed_s, 2)
        data["eta_s"] = None if self.eta_s is None else round(self.eta_s, 1)
        return data


ProgressCallback = Callable[[VideoProgress], None]


class ProgressMeter:
    """Counts frames and reports at most every PROGRESS_INTERVAL_S, plus every stage change."""

    def __init__(self, frames_total: int, callback: ProgressCallback | None) -> None:
        self.frames_total = frames_total
        self.callback = callback
        self.frames_done = 0
        self.started = time.perf_counter()
        self._last_report = 0.0

    def snapshot(self, stage: str) -> VideoProgress:
        elapsed = time.perf_counter() - self.started
        fps = self.frames_done / elapsed if elapsed > 0 else 0.0
        total = max(self.frames_total, self.frames_done)
        eta = (total - self.frames_done) / fps if fps > 0 and self.frames_total else None
        return VideoProgress(stage, self.frames_done, total, fps, eta, elapsed)

    def tick(self) -> None:
        self.frames_done += 1
        now = time.perf_counter()
        if now - self._last_report >= PROGRESS_INTERVAL_S:
            self._last_report = now
            self.report("processing")

    def report(self, stage: str) -> VideoProgress:
        progress = self.snapshot(stage)
        if self.callback is not None:
            self.callback(progress)
        return progress


def temporary_path(output: Path, temp_dir: Path | None) -> Path:
    """A hidden sibling (or a file in `temp_dir`, on the same disk) that is renamed into place."""
    folder = temp_dir or output.parent
    return folder / f".{output.stem}.{uuid.uuid4().hex[:8]}.part.mp4"


def process_video(
    source: str | Path,
    output: str | Path,
    transform: Transform,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    temp_dir: Path | None = None,
) -> VideoProgress:
    """Write `transform(frame)` for every frame of `source` to `output` (H.264 MP4, audio kept).

    Returns the final progress (stage "done"). Raises BadVideo for unreadable input, DiskFull when
    the disk fills up, and Cancelled when `should_stop()` turns true; in every failure no output
    or temp file remains.
    """
    output = Path(output)
    temp = temporary_path(output, temp_dir)
    with VideoReader(source) as reader:
        writer = VideoWriter(temp, reader.info, reader.time_base, audio_source=reader.audio)
        encoder = RunBehind()
        decoder = RunAhead(lambda: reader.frames(on_audio=lambda packet: encoder.submit(writer.mux_audio, packet)))
        meter = ProgressMeter(reader.info.frames, on_progress)
        try:
            meter.report("processing")
            for frame in decoder:
                if should_stop is not None and should_stop():
                    raise Cancelled("cancelled")
                encoder.submit(writer.write, transform(frame.image), frame.pts, frame.time_base)
                meter.tick()
            meter.report("finalizing")
            encoder.submit(writer.close)
            encoder.finish()
            append_xmp(temp)
            os.replace(temp, output)
        except BaseException as exc:
            decoder.close()
            encoder.close()
            writer.abort()
            temp.unlink(missing_ok=True)
            if is_disk_full(exc):
                raise DiskFull("disk full while writing the video; nothing partial was kept") from exc
            raise
        decoder.close()
    meter.frames_total = meter.frames_done
    return meter.report("done")
