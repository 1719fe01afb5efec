"""The live swap end to end: a source face uploaded through the page, the fake webcam streamed
over the WebSocket, swapped frames drawn on the preview, meters running, and stopping."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser.session_state import session_status
from tests.support.faces import distance, identity, largest_face, on_canvas

pytestmark = pytest.mark.browser

SWAPPED_FRAMES = 10


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_live_stream_swaps_the_camera_face(app, swapper, read_test_image, data_dir, server_url):
    app.give_consent()
    app.upload_sources(data_dir / "Tom_Hanks_54745.png")
    expect(app.testid("source-count")).to_have_text("1")
    expect(app.page.locator("#thumbnails img")).to_have_count(1)

    app.start_camera()
    app.wait_for_frames(SWAPPED_FRAMES)

    camera, preview = app.snapshot("#camera"), app.snapshot("#preview")
    assert preview.shape == camera.shape == (480, 640, 3)
    face = largest_face(swapper, camera)
    x0, y0, x1, y1 = (int(v) for v in face.box)
    assert mean_difference(preview[y0:y1, x0:x1], camera[y0:y1, x0:x1]) > 8, "the face was not swapped"
    background = (slice(0, 480), slice(0, 70))  # the plain strip left of the photo
    assert mean_difference(preview[background], camera[background]) < 6, "the preview is not the camera frame"

    swapped = identity(swapper, preview)
    hanks = identity(swapper, on_canvas(read_test_image("Tom_Hanks_54745.png"), 300, (170, 90)))
    astronaut = identity(swapper, camera)
    assert distance(swapped, hanks) < distance(swapped, astronaut)

    server = session_status(server_url, app.session_id)
    assert server["faces_loaded"] == 1 and server["stream_connections"] >= 1
    assert server["timings_ms"], "the server has timed no swap"
    stats = app.stats()
    assert stats["sent"] >= stats["received"] >= SWAPPED_FRAMES
    assert stats["sent"] - stats["received"] - stats["dropped"] <= stats["window"] <= 8, "frames beyond the window"
    assert 42 <= stats["quality"] <= 70 and stats["width"] * 3 == stats["height"] * 4 >= 320 * 3
    expect(app.testid("send-level")).to_have_text(re.compile(r"^q\d+ \d+×\d+$"))
    expect(app.testid("link-status")).to_contain_text("in flight")
    preview_element = app.testid("preview")
    assert int(preview_element.get_attribute("data-frames-received")) >= SWAPPED_FRAMES
    app.page.wait_for_function("() => Number(document.querySelector('[data-testid=fps]').textContent) > 0")
    expect(app.testid("latency")).to_have_text(re.compile(r"^\d+$"))

    assert app.console_errors == []
    if os.environ.get("PLASTICVISION_SCREENSHOT"):  # how docs/screenshot.png is made
        app.page.screenshot(path=os.environ["PLASTICVISION_SCREENSHOT"])

    app.testid("start-camera").click()  # now labelled "Stop camera"
    expect(app.testid("status")).to_have_attribute("data-state", "idle")
    sent = app.stats()["sent"]
    app.page.wait_for_timeout(500)
    assert app.stats()["sent"] == sent, "frames are still sent after stopping"
