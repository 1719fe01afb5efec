"""A video cut into keyframe-aligned chunks, and the function that swaps one chunk into its own file.

Chunks cover the frames in presentation order with no gap and no overlap, so joining their
files gives exactly the single-pass frames and timestamps. Each starts at a keyframe and is
decoded from a keyframe before it: the `warm-up` frames in between go through the chunk's
tracker (and its smoother) but are not written, so the face is followed across a join as it
is inside a chunk. The warm-up starts on the tracker's detection cadence (a multiple of
DETECT_EVERY frames from the start of the video), so the chunk detects on the same frames as
a single pass does and the two results differ only while the smoother's history settles.

`run_chunk` is the one chunk function: the local device pool and Ray actors both call it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from plasticvision.engines.base import SourceFace
from plasticvision.engines.pool import Replica
from plasticvision.pipeline.facemap import FaceMapState
from plasticvision.pipeline.session import SwapSession
from plasticvision.pipeline.timing import TimingStats
from plasticvision.pipeline.tracking import DETECT_EVERY
from plasticvision.settings import Settings
from plasticvision.video.limits import VideoLimits
from plasticvision.video.process import Cancelled
from plasticvision.video.reader import VideoReader
from plasticvision.video.threads import RunAhead, RunBehind
from plasticvision.video.writer import VideoWriter

WARMUP_FRAMES = DETECT_EVERY  # at least this many frames run through the tracker before a chunk
MIN_CHUNK_FRAMES = 2 * DETECT_EVERY  # shorter chunks cost more in warm-up than they win in parallel


@dataclass(frozen=True)
class Chunk:
    """Frames [start, stop) of the video (indices in presentation order), and where to decode from."""

    index: int
    start: int
    stop: int
    warmup_from: int  # first frame run through the tracker; frames before it are decoded and skipped
    start_pts: int
    stop_pts: int | None  # None: to the end of the video
    warmup_pts: int
    seek_pts: int | None  # the keyframe at or before `warmup_from`; None: from the start of the file

    @property
    def frames(self) -> int:
        return self.stop - self.start

    @property
    def warmup_frames(self) -> int:
        return self.start - self.warmup_from


@dataclass(frozen=True)
class ChunkJob:
    """What every chunk of one video shares: sent once to each worker, not once per chunk."""

    source: Path
    sources: tuple[SourceFace, ...]  # prepared by the job's session, plain data any replica can render
    settings: Settings
    fps: float
    face_map: FaceMapState | None = None  # who becomes whom, when the job's session has a face map
    limits: VideoLimits | None = None  # enforced on every decoded frame, whatever the header said
    name: str = "video"  # what limit errors call the file (the upload's own name)


@dataclass(frozen=True)
class ChunkResult:
    index: int
    frames: int
    frames_with_swap: int
    warmup_frames: int
    seconds: float


def plan_chunks(
    path: str | Path, parts: int, *, min_frames: int = MIN_CHUNK_FRAMES, max_frames: int | None = None
) -> list[Chunk]:
    """Up to `parts` chunks of about equal length, each starting at a keyframe and at least `min_frames` long;
    with `max_frames`, as many more as make chunks about that short (where keyframes allow).

    A file whose packets lack timestamps, or without keyframes to cut at, is one chunk.
    """
    with VideoReader(path) as reader:
        packets = list(reader.packet_times())
    if not packets or any(pts is None for pts, _ in packets):
        return [Chunk(0, 0, len(packets), 0, 0, None, 0, None)]
    times = sorted(pts for pts, _ in packets)
    keyframes = set(pts for pts, key in packets if key)
    count = len(times)
    if max_frames:
        parts = max(parts, math.ceil(count / max_frames))
    cuts = [index for index, pts in enumerate(times) if pts in keyframes]
    starts = [0]
    for part in range(1, parts):
        usable = [i for i in cuts if i >= starts[-1] + min_frames and count - i >= min_frames]
        if not usable:
            break
        starts.append(min(usable, key=lambda i: abs(i - part * count / parts)))
    chunks = []
    for index, start in enumerate(starts):
        stop = starts[index + 1] if index + 1 < len(starts) else count
        warmup_from = max((start - WARMUP_FRAMES) // DETECT_EVERY * DETECT_EVERY, 0)
        seek = max((i for i in cuts if i <= warmup_from), default=0)
        chunks.append(
            Chunk(
                index,
                start,
                stop,
                warmup_from,
                times[start],
                times[stop] if stop < count else None,
                times[warmup_from],
                times[seek] if warmup_from else None,
            )
        )
    return chunks


def run_chunk(
    job: ChunkJob,
    chunk: Chunk,
    replica: Replica,
    output: Path,
    *,
    on_frames: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    stats: TimingStats | None = None,
) -> ChunkResult:
    """Swap the chunk's frames on `replica` into `output` (H.264 MP4, video only, the single pass's encoder
    settings); warm-up frames only feed the tracker. `output` appears whole (written aside, synced, renamed)
    or not at all: no file remains on failure, cancellation or a crash but a hidden partial one."""
    started = time.perf_counter()
    session = SwapSession(replica.engine, stats)  # `stats`: where the stage timings go (the server's metrics)
    session.use_prepared(job.sources)
    if job.face_map is not None:
        session.face_map.restore(job.face_map)
    stream = session.stream(job.settings, fps=job.fps, engine=replica.engine, chunked=True)
    written = swapped = warmed = 0
    with VideoReader(job.source) as reader:
        if chunk.seek_pts is not None:
            reader.seek(chunk.seek_pts)
        partial = output.with_name(f".{output.name}.part")
        writer = VideoWriter(partial, reader.info, reader.time_base)
        encoder = RunBehind()
        decoder = RunAhead(reader.frames)
        try:
            for frame in decoder:
                if should_stop is not None and should_stop():
                    raise Cancelled("cancelled")
                pts = frame.pts if frame.pts is not None else chunk.start_pts + written
                if pts < chunk.warmup_pts:
                    continue
                if chunk.stop_pts is not None and pts >= chunk.stop_pts:
                    break
                if job.limits is not None and pts >= chunk.start_pts:
                    height, width = frame.image.shape[:2]
                    index = chunk.start + written
                    job.limits.check_frame(job.name, index, float(pts * frame.time_base), width, height)
                with replica.work():
                    if pts < chunk.start_pts:
                        stream.follow(frame.image)  # what a single pass does with this frame, minus the swap
                        warmed += 1
                        continue
                    report = stream.swap(frame.image)
                encoder.submit(writer.write, report.frame, frame.pts, frame.time_base)
                written += 1
                swapped += not report.unchanged
                if on_frames is not None:
                    on_frames(1)
            encoder.submit(writer.close)
            encoder.finish()
            durable_replace(partial, output)
        except BaseException:
            decoder.close()
            encoder.close()
            writer.abort()
            partial.unlink(missing_ok=True)
            raise
        decoder.close()
    return ChunkResult(chunk.index, written, swapped, warmed, time.perf_counter() - started)


def durable_replace(partial: Path, output: Path) -> None:
    """Rename a written file into place so that, after a crash or power loss, `output` is whole or absent."""
    with open(partial, "rb+") as file:
        os.fsync(file.fileno())
    os.replace(partial, output)
    folder = os.open(output.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def chunk_paths(folder: Path, chunks: Sequence[Chunk]) -> list[Path]:
    return [folder / f"chunk-{chunk.index:04d}.mp4" for chunk in chunks]
