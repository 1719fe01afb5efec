"""A real-size (120 MB) video swaps end to end over HTTP while the server's memory stays flat.

Uploads stream to disk as they arrive (Starlette spools each part past 1 MB, the job copies it
in 1 MB chunks), frames are decoded and encoded a few at a time, and the result streams back
from disk: the server's peak resident memory (VmHWM) may rise by no more than ~100 MB over
what it held before the upload, whatever the file's size.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from tests.server.test_faults import SOURCE, post_job, wait_for
from tests.support.server_process import server_process
from tests.support.video_clips import face_frame, load_face, make_clip

pytestmark = pytest.mark.slow

TARGET_MB = 120
MAX_GROWTH_MIB = 100
SIZE = (640, 480)


def big_clip(path: Path, megabytes: int) -> tuple[Path, int]:
    """A moving face over a noise background, lossless H.264: about 0.5 MB a frame, so few frames."""
    rng = np.random.default_rng(1)
    face = load_face("astronaut.png")
    time_base = Fraction(1, 25)
    frames = written = 0
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25, options={"preset": "ultrafast", "crf": "0"})
        video.width, video.height = SIZE
        video.pix_fmt = "yuv420p"
        video.time_base = video.codec_context.time_base = time_base
        noise = rng.integers(0, 256, (SIZE[1], SIZE[0], 3), np.uint8)
        while written < megabytes * 1024 * 1024:
            pixels = face_frame(face, frames % 50, 50, SIZE)
            edge = SIZE[0] // 6
            pixels[:, :edge] = np.roll(noise, frames * 7, axis=0)[:, :edge]
            pixels[:, -edge:] = np.roll(noise, frames * 13, axis=1)[:, -edge:]
            frame = av.VideoFrame.from_ndarray(pixels, format="bgr24")
            frame.pts, frame.time_base = frames, time_base
            packets = video.encode(frame)
            written += sum(packet.size for packet in packets)
            container.mux(packets)
            frames += 1
        container.mux(video.encode(None))
    return path, frames


def test_a_120_mb_video_swaps_over_http_without_the_server_memory_growing(tmp_path):
    clip, frames = big_clip(tmp_path / "big.mp4", TARGET_MB)
    assert clip.stat().st_size >= TARGET_MB * 1024 * 1024
    with server_process(tmp_path / "data", tmp_path / "server.log") as server:
        warm = make_clip(tmp_path / "warm.mp4", size=SIZE, seconds=1.0)
        post_job(server.url, warm, "warm-up")  # codecs, engine and thread pools loaded before the baseline
        wait_for(server.url, "warm-up", lambda r: r["state"] == "done")
        before = server.rss_mib()
        output = tmp_path / "out.mp4"
        with open(clip, "rb") as video, open(output, "wb") as out:
            files = [
                ("source_files", ("face.png", SOURCE.read_bytes(), "image/png")),
                ("target_file", ("big.mp4", video, "video/mp4")),  # a file object: httpx streams it
            ]
            with httpx.stream("POST", f"{server.url}/swap-video", files=files, timeout=600) as response:
                assert response.status_code == 200, response.read()
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
        peak = server.peak_mib()
    with av.open(str(output)) as result:
        assert result.streams.video[0].frames == frames
    growth = peak - before
    print(f"\n{clip.stat().st_size / 2**20:.0f} MB, {frames} frames: RSS before {before:.0f} MiB, peak {peak:.0f} MiB")
    assert growth < MAX_GROWTH_MIB, f"the server's memory peaked {growth:.0f} MiB above its {before:.0f} MiB"
