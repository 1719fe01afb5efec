"""`swap-video`: one video in, one swapped H.264 MP4 out, with a progress bar (frames, fps, ETA).

Ctrl-C stops between two frames; `process_video` then deletes its partial file, so an
interrupted run leaves neither output nor temp file behind.
"""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from plasticvision.cli.facemap import add_map_flag, apply_maps, check_sources_or_maps
from plasticvision.cli.options import add_devices_flag, add_engine_flag, add_settings_flags, settings_from_args
from plasticvision.media.images import read_image
from plasticvision.video.process import VideoProgress
from plasticvision.video.reader import probe


def register(commands: argparse._SubParsersAction) -> None:
    swap = commands.add_parser("swap-video", help="swap the source face into every frame of a video")
    swap.add_argument("target", help="the video whose face is replaced (MP4, MOV, WebM, MKV, AVI, ...)")
    swap.add_argument("--source", "-s", action="append", default=[], help="source face image (repeat up to 10)")
    swap.add_argument("--output", "-o", required=True, help="output MP4 (H.264, audio kept, labelled as synthetic)")
    swap.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_map_flag(swap)
    add_engine_flag(swap)
    add_devices_flag(swap, "one engine; with several, the video is cut into chunks that run on all of them")
    add_settings_flags(swap)
    swap.set_defaults(run=run_swap_video)


class ProgressBar:
    """A tqdm bar fed with `VideoProgress`: frames done of total, fps and ETA (tqdm's own)."""

    def __init__(self, total: int, disable: bool) -> None:
        self.bar = tqdm(total=total or None, unit="frame", desc="swapping", disable=disable, file=sys.stderr)

    def __call__(self, progress: VideoProgress) -> None:
        if progress.frames_total and progress.frames_total != self.bar.total:
            self.bar.total = progress.frames_total
        self.bar.set_postfix_str(progress.stage, refresh=False)
        self.bar.update(progress.frames_done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def run_swap_video(args: argparse.Namespace) -> int:
    from plasticvision.api import FaceSwapper
    from plasticvision.config import ServerConfig
    from plasticvision.server.jobs.chunked import ChunkedVideoSwap, PoolChunks, SinglePass

    check_sources_or_maps(args)
    settings = settings_from_args(args)
    sources = [read_image(path) for path in args.source]
    info = probe(args.target)
    swapper = FaceSwapper(args.engine, models_dir=args.models_dir, devices=args.devices)
    session = swapper.new_session()
    if sources:
        session.set_sources(sources)
    apply_maps(session, args.map)
    pool = swapper.pool  # several devices: the video is cut into chunks that run on all of them, as in a server job
    swap = ChunkedVideoSwap(PoolChunks(pool), ServerConfig().video_chunk_s) if len(pool.replicas) > 1 else SinglePass()
    bar = ProgressBar(info.frames, disable=args.no_progress)
    try:
        result = swap(session, settings, args.target, args.output, on_progress=bar)
    finally:
        bar.close()
        swap.close()
    done = result.progress
    chunks = getattr(result, "chunks", ())
    where = f" in {len(chunks)} chunks on {', '.join(r.device.label for r in pool.replicas)}" if chunks else ""
    print(
        f"swapped a face in {result.frames_with_swap} of {done.frames_done} frames{where} "
        f"({done.fps:.1f} frames/s) -> {args.output}"
    )
    if not result.frames_with_swap:
        print("warning: no face was found in any frame; the video is unchanged apart from re-encoding", file=sys.stderr)
    return 0
