"""Shared fixtures: the test images (copied from ../shared/faces, see tests/data/SOURCES.md) and one
dlib-engine FaceSwapper for the whole run (loading dlib's models takes about a second)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi import FastAPI

# The install's watermark id and self-signed C2PA certificate go to a throwaway folder, not the user's.
# The id is fixed there for determinism only: it is the watermark's payload, so a random one would make
# every run's swapped pixels differ from the last run's. Identity verdicts do not depend on it (the mark
# stays off the inner face; tests/provenance/test_identity.py swaps with three ids).
os.environ.setdefault("PLASTICVISION_DATA_DIR", tempfile.mkdtemp(prefix="plasticvision-test-data-"))
TEST_INSTALL_ID = "5a17e5"
(Path(os.environ["PLASTICVISION_DATA_DIR"]) / "provenance").mkdir(parents=True, exist_ok=True)
(Path(os.environ["PLASTICVISION_DATA_DIR"]) / "provenance" / "install-id").write_text(TEST_INSTALL_ID + "\n")

from plasticvision import FaceSwapper  # noqa: E402
from plasticvision.config import ServerConfig
from plasticvision.server import create_app

from tests.support.live_uvicorn import serving

DATA_DIR = Path(__file__).parent / "data"

# Starlette's TestClient sends `Host: testserver`, which a loopback server refuses (DNS rebinding):
# the apps tests build answer to it too, unless a test names its own hosts.
os.environ.setdefault("PLASTICVISION_ALLOWED_HOSTS", '["testserver"]')


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


@pytest.fixture(scope="session")
def make_app(swapper: FaceSwapper, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., FastAPI]:
    """A server app with a fresh default session on the shared engine, its data in a temporary folder;
    keyword arguments are ServerConfig fields."""

    def make(**config: object) -> FastAPI:
        config.setdefault("data_dir", tmp_path_factory.mktemp("server-data"))
        return create_app(ServerConfig(engine="dlib", **config), FaceSwapper(swapper.engine))

    return make


@pytest.fixture(scope="module")
def live_server() -> Iterator[Callable[[FastAPI], str]]:
    """Runs apps under a real uvicorn on free loopback ports; returns 'host:port'. Stopped at the module's end."""
    with ExitStack() as running:
        yield lambda app: running.enter_context(serving(app)).removeprefix("http://")
