"""The container allow-list: what FFmpeg may open for us, and what it may not (playlists, images, odd codecs)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from plasticvision.video.formats import UnsupportedContainer, open_container
from plasticvision.video.reader import probe
from tests.support.video_clips import make_clip


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".webm", ".avi", ".y4m"])
def test_allowed_containers_open_whatever_their_name(tmp_path, suffix):
    clip = make_clip(tmp_path / f"clip{suffix}", size=(64, 48), seconds=0.4, audio=suffix != ".y4m")
    renamed = clip.rename(tmp_path / "upload.bin")  # the name plays no part: the first bytes decide
    assert probe(renamed).width == 64


def test_mpeg_ts_is_allowed(tmp_path):
    clip = transport_stream(tmp_path / "clip.ts", (64, 48), frames=6)
    with open_container(clip) as container:
        assert container.format.name == "mpegts"


def test_a_playlist_is_refused_before_ffmpeg_reads_what_it_names(tmp_path):
    secret = make_clip(tmp_path / "secret.mp4", size=(64, 48), seconds=0.4, audio=False)
    playlist = tmp_path / "upload.mp4"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{secret}\n#EXT-X-ENDLIST\n")
    with pytest.raises(UnsupportedContainer, match="playlist"):
        probe(playlist)


def test_an_animated_gif_is_not_a_video(tmp_path):
    frames = [Image.fromarray(np.full((32, 32, 3), level, np.uint8)) for level in (0, 128, 255)]
    gif = tmp_path / "animated.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with pytest.raises(UnsupportedContainer, match="an animated GIF, which is not a video"):
        probe(gif)


def test_a_codec_off_the_list_is_refused(tmp_path):
    path = tmp_path / "png-in-quicktime.mov"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("png", rate=5)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "rgb24"
        for index in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), index * 50, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(UnsupportedContainer, match="video codec 'png' is not accepted"):
        probe(path)


def transport_stream(path: Path, size: tuple[int, int], frames: int, start: int = 0) -> Path:
    """H.264 in MPEG-TS, `frames` frames of `size` whose timestamps start at frame `start` (15 fps)."""
    with av.open(str(path), "w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=15)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 15)
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), 90, np.uint8), format="bgr24")
            frame.pts, frame.time_base = start + index, Fraction(1, 15)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
