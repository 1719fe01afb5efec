"""The page on a phone and a laptop: nothing overflows sideways, every control has a label."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}

# Form controls whose accessible name is empty (no <label>, aria-label or aria-labelledby).
UNLABELLED_JS = """() => [...document.querySelectorAll("input, button, select, textarea, canvas, video, progress")]
  .filter((e) => !(e.labels?.length || e.getAttribute("aria-label") || e.getAttribute("aria-labelledby")
                   || (e.tagName === "BUTTON" && e.textContent.trim())))
  .map((e) => e.outerHTML.slice(0, 80))"""


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_page_fits_the_screen(open_app, server_url, viewport):
    app = open_app(server_url, viewport=viewport)
    width = app.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"the page scrolls sideways ({width} px wide)"
    for name in ("consent", "start-camera", "preview", "fps", "latency", "status"):
        expect(app.testid(name)).to_be_visible()
    preview_width = app.testid("preview").bounding_box()["width"]
    assert preview_width >= min(viewport["width"] - 80, 600)
    assert app.console_errors == []


def test_every_control_has_an_accessible_name(app):
    assert app.page.evaluate(UNLABELLED_JS) == []
