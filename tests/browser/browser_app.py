"""The browser app as tests drive it: a Playwright page plus the console errors it logged."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import cv2
import numpy as np
from playwright.sync_api import Page, expect

FRAME_TIMEOUT_MS = 60_000

# Chromium logs every 4xx answer to fetch() as a console error; tests that provoke one expect it.
REFUSED_REQUEST = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")

# Draws a canvas or the camera <video> into a PNG data URL, so tests can read pixels.
SNAPSHOT_JS = """(selector) => {
  const source = document.querySelector(selector);
  if (source instanceof HTMLCanvasElement) return source.toDataURL("image/png");
  const canvas = document.createElement("canvas");
  canvas.width = source.videoWidth;
  canvas.height = source.videoHeight;
  canvas.getContext("2d").drawImage(source, 0, 0);
  return canvas.toDataURL("image/png");
}"""


class AppPage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.console_errors: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))
        page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))

    def open(self, url: str) -> AppPage:
        self.page.goto(url)
        expect(self.page.locator("#server-health")).to_have_attribute("data-kind", "ok")
        return self

    def errors_besides_refusals(self) -> list[str]:
        """Console errors other than Chromium's notes on requests the server refused."""
        return [text for text in self.console_errors if not REFUSED_REQUEST.match(text)]

    def testid(self, name: str):
        return self.page.get_by_test_id(name)

    @property
    def session_id(self) -> str:
        """The session the server issued to the page (asked for once the health check passed)."""
        self.page.wait_for_function("Boolean(window.plasticvision?.sessionId)")
        return self.page.evaluate("window.plasticvision.sessionId")

    def give_consent(self) -> None:
        self.testid("consent").check()

    def upload_sources(self, *paths: Path) -> None:
        self.testid("source-input").set_input_files([str(path) for path in paths])

    def start_camera(self) -> None:
        self.testid("start-camera").click()
        expect(self.testid("status")).to_have_attribute("data-state", "live")

    def stats(self) -> dict:
        return self.page.evaluate("window.plasticvision.stats.toJSON()")

    def wait_for_frames(self, count: int) -> None:
        """Until `count` more frames came back than now."""
        target = self.stats()["received"] + count
        self.page.wait_for_function(
            "(n) => window.plasticvision.stats.received >= n", arg=target, timeout=FRAME_TIMEOUT_MS
        )

    def snapshot(self, selector: str) -> np.ndarray:
        return snapshot(self.page, selector)


def snapshot(page: Page, selector: str) -> np.ndarray:
    """The pixels of a canvas or video element in any page (the app's, or a window it opened), BGR."""
    data_url = page.evaluate(SNAPSHOT_JS, selector)
    png = base64.b64decode(data_url.split(",", 1)[1])
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
