"""What durable chunks cost a video job on one device, and what a resume saves.

Runs one clip on one CPU replica (the dlib engine) three ways: the single pass, the server's
durable chunked job (`--chunk-s` seconds per chunk, the default 4 and shorter), and that job
stopped after its first chunk (as a shutdown would) and resumed. Reports CPU seconds of this
process (robust to a busy machine, unlike wall time), the overhead of chunking against the
single pass (the chunks' tracker warm-up frames and the join), and what the resume redid.

    python bench/video_resume.py [--seconds 10] [--chunk-s 4 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clip import load, smooth_clip  # noqa: E402
from video_bench import FPS, write_clip  # noqa: E402

from plasticvision import FaceSwapper  # noqa: E402
from plasticvision.video.swap import swap_video  # noqa: E402
from plasticvision.server.jobs.chunk_queue import Interrupted  # noqa: E402
from plasticvision.server.jobs.chunked import ChunkedVideoSwap, PoolChunks  # noqa: E402
from plasticvision.server.jobs.ledger import ChunkLedger, JobChunks  # noqa: E402

KEYFRAME_EVERY = FPS  # one keyframe a second, as cameras write


def cpu_s(run) -> tuple[float, object]:
    started = time.process_time()
    result = run()
    return time.process_time() - started, result


def job(folder: Path, job_id: str, draining=lambda: False) -> JobChunks:
    (folder / job_id).mkdir(parents=True, exist_ok=True)
    return JobChunks(job_id, ChunkLedger(folder / "jobs.sqlite3"), folder / job_id, "clip.mp4", draining)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length at 30 fps (default 10)")
    parser.add_argument("--chunk-s", type=float, nargs="+", default=[4.0, 2.0], help="chunk lengths to try")
    args = parser.parse_args()
    swapper = FaceSwapper("dlib")
    session = swapper.new_session()
    session.set_sources([load("Tom_Hanks_54745.png")])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frames = smooth_clip(load("astronaut.png"), frames=int(args.seconds * FPS)).frames
        clip = write_clip(folder / "clip.mp4", frames, keyframe_every=KEYFRAME_EVERY)
        swap_video(session, session.settings, clip, folder / "warm.mp4")  # codecs, detector threads
        single_s, _ = cpu_s(lambda: swap_video(session, session.settings, clip, folder / "single.mp4"))
        print(f"{len(frames)} frames, one CPU replica; single pass: {single_s:.1f} CPU s")
        for chunk_s in args.chunk_s:
            swap = ChunkedVideoSwap(PoolChunks(swapper.pool), chunk_s)
            whole = job(folder, f"whole-{chunk_s}")
            whole_s, result = cpu_s(lambda: swap(session, session.settings, clip, folder / "w.mp4", job=whole))
            warmup = sum(chunk.warmup_frames for chunk in result.chunks)
            chunks_dir = folder / f"stopped-{chunk_s}"
            stopped = job(folder, chunks_dir.name, draining=lambda: any(chunks_dir.glob("chunk-*")))  # a shutdown
            try:
                swap(session, session.settings, clip, folder / "r.mp4", job=stopped)
            except Interrupted:
                pass
            resume = job(folder, f"stopped-{chunk_s}")
            resume_from = resume.ledger.first_unfinished(resume.job_id)
            resumed_s, _ = cpu_s(lambda: swap(session, session.settings, clip, folder / "r.mp4", job=resume))
            swap.close()
            print(
                f"chunks of {chunk_s:g} s: {len(result.chunks)} chunks, {warmup} warm-up frames; "
                f"{whole_s:.1f} CPU s ({100 * (whole_s / single_s - 1):+.0f} % vs single pass); "
                f"resumed from frame {resume_from}: {resumed_s:.1f} CPU s after the restart "
                f"({100 * resumed_s / whole_s:.0f} % of the whole job)"
            )


if __name__ == "__main__":
    main()
