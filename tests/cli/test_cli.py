"""The `plasticvision` command as a user runs it: real files in, files out, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.support.faces import distance, identity


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "plasticvision", *args], capture_output=True, text=True, timeout=120
    )


def test_swap_image_writes_a_swapped_png(tmp_path, data_dir, swapper):
    out = tmp_path / "out.png"
    result = run_cli(
        "swap-image", "--source", str(data_dir / "Tom_Hanks_54745.png"), str(data_dir / "astronaut.png"),
        "-o", str(out), "--sharpness", "0.5",
    )
    assert result.returncode == 0, result.stderr
    assert "swapped 1 of 1" in result.stdout
    swapped = cv2.imread(str(out))
    source = cv2.imread(str(data_dir / "Tom_Hanks_54745.png"))
    target = cv2.imread(str(data_dir / "astronaut.png"))
    out_id = identity(swapper, swapped)
    assert distance(out_id, identity(swapper, source)) < distance(out_id, identity(swapper, target))
    assert b"compositeWithTrainedAlgorithmicMedia" in out.read_bytes()


def test_detect_prints_json_and_draws_boxes(tmp_path, data_dir):
    out = tmp_path / "boxes.png"
    result = run_cli("detect", str(data_dir / "astronaut.png"), "-o", str(out), "--json")
    assert result.returncode == 0, result.stderr
    faces = json.loads(result.stdout)["faces"]
    assert len(faces) == 1
    x0, y0, x1, y1 = faces[0]["box"]
    assert 150 < x0 < 220 and 60 < y0 < 120 and x1 - x0 > 60
    assert len(faces[0]["landmarks_5"]) == 5 and len(faces[0]["landmarks_68"]) == 68
    drawn, original = cv2.imread(str(out)), cv2.imread(str(data_dir / "astronaut.png"))
    assert np.abs(drawn.astype(int) - original.astype(int)).sum() > 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["swap-image", "--source", "{data}/coffee.png", "{data}/astronaut.png", "-o", "{tmp}/o.png"],
         "no face found in source image 1 of 1"),
        (["swap-image", "--source", "{data}/missing.png", "{data}/astronaut.png", "-o", "{tmp}/o.png"],
         "cannot read"),
        (["swap-image", "--source", "{tmp}/text.jpg", "{data}/astronaut.png", "-o", "{tmp}/o.png"],
         "not a readable image"),
        (["swap-image", "--source", "{data}/astronaut.png", "{data}/astronaut.png", "-o", "{tmp}/o.png",
          "--opacity", "2"], "expected a number from 0 to 1"),
        (["detect", "{tmp}/empty.png"], "empty"),
    ],
    ids=["no-face", "missing-file", "text-file", "bad-opacity", "empty-file"],
)
def test_errors_are_one_line_with_a_nonzero_exit(tmp_path, data_dir, args, message):
    (tmp_path / "text.jpg").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    argv = [a.format(data=data_dir, tmp=tmp_path) for a in args]
    result = run_cli(*argv)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o.png").exists()


def test_target_without_a_face_is_written_unchanged_with_a_warning(tmp_path, data_dir):
    out = tmp_path / "out.png"
    result = run_cli("swap-image", "-s", str(data_dir / "Tom_Hanks_54745.png"), str(data_dir / "coffee.png"), "-o", str(out))
    assert result.returncode == 0
    assert "no face found" in result.stderr
    assert np.array_equal(cv2.imread(str(out)), cv2.imread(str(data_dir / "coffee.png")))


def test_every_command_has_help():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("swap-image", "detect"):
        assert command in result.stdout
        assert run_cli(command, "--help").returncode == 0
