"""`--swapper`, `--enhancer`, `--mask`, `--regions` on the command line, with synthetic catalog models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from tests.support import onnx_fakes as fakes

FACE = fakes.face_at((320, 240), 64)


def run_cli(models: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PLASTICVISION_MODEL_CHECKSUMS": "off", "PLASTICVISION_MODELS_DIR": str(models)}
    return subprocess.run([sys.executable, "-m", "plasticvision", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_swap_image_with_a_chosen_swapper_masks_and_enhancer_and_one_line_errors(tmp_path: Path) -> None:
    models = fakes.build_catalog_dir(tmp_path / "models", [FACE], swappers=("hyperswap_1b_256", "inswapper_128"))
    (models / "simswap_256.onnx").write_bytes(b"broken")
    image = tmp_path / "face.png"
    cv2.imwrite(str(image), fakes.smooth_frame())
    out = tmp_path / "out.png"
    common = ("swap-image", "--engine", "inswapper", "-s", str(image), str(image), "-o", str(out))

    done = run_cli(models, *common, "--swapper", "hyperswap_1b_256", "--mask", "occlusion", "--mask", "region",
                   "--regions", "skin,nose", "--enhance", "--enhancer", "codeformer")
    assert done.returncode == 0, done.stderr
    assert "swapped 1 of 1" in done.stdout
    assert np.abs(cv2.imread(str(out)).astype(int) - fakes.smooth_frame()).max() > 20
    out.unlink()

    for args, message in (
        (("--swapper", "simswap_256"), "simswap_256: "),  # a file onnxruntime cannot read
        (("--swapper", "hyperswap_1a_256"), "swappers here: hyperswap_1b_256, inswapper_128"),
        (("--regions", "skin,ears"), "unknown region(s) ears"),
        (("--mask", "hands"), "invalid choice: 'hands'"),
    ):
        failed = run_cli(models, *common, *args)
        errors = [line for line in failed.stderr.splitlines() if "error" in line]
        assert failed.returncode == 2 and len(errors) == 1 and message in errors[0], failed.stderr
        assert "Traceback" not in failed.stderr and not out.exists()
