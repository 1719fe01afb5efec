"""Browser fixtures: a real uvicorn server (dlib engine) on loopback, Debian's Chromium driven by
Playwright with a fake webcam that shows the astronaut, and a fresh page per test.

Without Chromium (or Playwright) the browser tests skip and say why; with CI=true they fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from collections.abc import Iterator

import numpy as np
import pytest

from tests.browser.fake_webcam import webcam_frame, write_y4m
from tests.support.live_uvicorn import serving
from tests.support.optional_parts import unavailable

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",  # plain host candidates: aiortc cannot resolve .local names
]
VIEWPORT = {"width": 1280, "height": 900}
EXPECT_TIMEOUT_MS = 15_000  # what a page waits for (an upload, a result) is a function of load, not a timing check


@pytest.fixture(scope="session", autouse=True)
def patient_expectations() -> None:
    """Playwright's assertions retry for 5 s by default: too short for work on a busy 2-core machine.
    Timing checks state their own bounds (and live in bench/)."""
    try:
        from playwright.sync_api import expect
    except ImportError:
        return
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("PLASTICVISION_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        unavailable(f"Chromium not found at {path} (install Debian's chromium or set PLASTICVISION_CHROMIUM)")
    return path


@pytest.fixture(scope="session")
def camera_frame(read_test_image) -> np.ndarray:
    """What the fake webcam shows (BGR)."""
    return webcam_frame(read_test_image("astronaut.png"))


@pytest.fixture(scope="session")
def camera_clip(camera_frame, tmp_path_factory) -> Path:
    return write_y4m(tmp_path_factory.mktemp("camera") / "astronaut.y4m", camera_frame)


@pytest.fixture(scope="session")
def server_url(swapper, tmp_path_factory) -> Iterator[str]:
    from plasticvision.config import ServerConfig
    from plasticvision.server.app import create_app

    # Every test's fresh page is issued a session by this one server, all from 127.0.0.1: more than
    # one address may hold in a real deployment (the limit has tests of its own).
    config = ServerConfig(engine="dlib", data_dir=tmp_path_factory.mktemp("server-data"), max_sessions_per_client=10_000)
    with serving(create_app(config, swapper)) as url:
        yield url


@pytest.fixture(scope="session")
def chromium(chromium_path, camera_clip):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright Python package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={camera_clip}"],
        )
        yield browser
        browser.close()


@pytest.fixture
def open_app(chromium) -> Iterator:
    """Opens the app at a URL in a fresh context (its own localStorage, so its own session)."""
    from tests.browser.browser_app import AppPage  # needs playwright, which the chromium fixture checked

    contexts = []

    def open_at(url: str, viewport: dict = VIEWPORT, transport: str | None = "websocket") -> AppPage:
        context = chromium.new_context(viewport=viewport)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return AppPage(context.new_page()).open(url, transport)

    yield open_at
    for context in contexts:
        context.close()


@pytest.fixture
def app(open_app, server_url):
    """The app served by the test server."""
    return open_app(server_url)
