"""`plasticvision swap-video` as a user runs it: a video in, an MP4 out, a bar, Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.video_clips import audio_duration_s, make_clip, read_frames

SOURCE = Path(__file__).parents[1] / "data" / "Tom_Hanks_54745.png"


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "plasticvision", "swap-video", "--source", str(SOURCE), *args]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("cli") / "clip.webm", size=(320, 240), seconds=1.0)


def test_swap_video_writes_an_mp4_with_sound(clip, tmp_path):
    out = tmp_path / "out.mp4"
    result = subprocess.run(command(str(clip), "-o", str(out)), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "swapped a face in 15 of 15 frames" in result.stdout
    assert "15/15" in result.stderr and "frame/s" in result.stderr  # the progress bar
    assert len(read_frames(out)) == 15
    assert audio_duration_s(out) == pytest.approx(audio_duration_s(clip), abs=0.05)
    assert os.listdir(tmp_path) == ["out.mp4"]


@pytest.mark.parametrize("target", ["missing.mp4", "data/astronaut.png"])
def test_bad_targets_fail_with_one_line(target, tmp_path):
    path = Path(__file__).parents[1] / target
    result = subprocess.run(command(str(path), "-o", str(tmp_path / "out.mp4")), capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("plasticvision: error: ")
    assert os.listdir(tmp_path) == []


def test_ctrl_c_leaves_no_output_or_temp_file(tmp_path):
    clip = make_clip(tmp_path / "long.mp4", size=(320, 240), seconds=20.0, audio=False)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    process = subprocess.Popen(
        command(str(clip), "-o", str(out_dir / "out.mp4")), stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while not os.listdir(out_dir):  # the partial file appears once encoding has started
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "interrupted" in stderr
    assert os.listdir(out_dir) == []
