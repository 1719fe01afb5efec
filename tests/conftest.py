"""Shared fixtures: the test images (copied from ../shared/faces, see tests/data/SOURCES.md) and one
dlib-engine FaceSwapper for the whole run (loading dlib's models takes about a second)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest

from plasticvision import FaceSwapper

DATA_DIR = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA_DIR


def load_image(name: str) -> np.ndarray:
    image = cv2.imread(str(DATA_DIR / name), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(DATA_DIR / name)
    return image


@pytest.fixture(scope="session")
def read_test_image() -> Callable[[str], np.ndarray]:
    return load_image


@pytest.fixture(scope="session")
def swapper() -> FaceSwapper:
    return FaceSwapper("dlib")
