"""The clean output view (a pop-out window with the swapped video alone, for OBS window capture) and
Record (the live swapped stream saved as a WebM in the browser, labelled synthetic)."""

from __future__ import annotations

import av
import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser.browser_app import snapshot
from tests.support.faces import distance, identity, on_canvas
from plasticvision.media.images import SYNTHETIC_NOTE, SYNTHETIC_SOURCE_TYPE

pytestmark = pytest.mark.browser

RECORD_S = 3.0


@pytest.fixture
def live_app(app, data_dir):
    app.give_consent()
    app.upload_sources(data_dir / "Tom_Hanks_54745.png")
    expect(app.testid("source-count")).to_have_text("1")
    app.start_camera()
    app.wait_for_frames(5)
    return app


def swapped_to_hanks(swapper, frame: np.ndarray, camera: np.ndarray, hanks: np.ndarray) -> bool:
    out = identity(swapper, frame)
    return distance(out, identity(swapper, on_canvas(hanks, 300, (170, 90)))) < distance(out, identity(swapper, camera))


def test_pop_out_shows_the_swapped_stream_alone(live_app, swapper, read_test_image):
    with live_app.page.expect_popup() as opened:
        live_app.testid("pop-out").click()
    popup = opened.value
    popup.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.videoWidth > 0 && v.currentTime > 0.2; }"
    )
    assert popup.title() == "PlasticVision output"
    assert popup.locator("body > *").count() == 1, "the output view holds only the video"
    assert popup.locator("button, input, select, a, [controls]").count() == 0
    size = "() => { const v = document.querySelector('video'); return [v.videoWidth, v.videoHeight]; }"
    assert popup.evaluate(size) == [640, 480]
    assert popup.evaluate("() => [innerWidth, innerHeight]") == [640, 480]

    live_app.wait_for_frames(3)
    camera, preview = live_app.snapshot("#camera"), live_app.snapshot("#preview")
    shown = snapshot(popup, "video")
    assert shown.shape == preview.shape == (480, 640, 3)
    assert np.abs(shown.astype(np.int16) - preview.astype(np.int16)).mean() < 6, "the pop-out is not the preview"
    assert swapped_to_hanks(swapper, shown, camera, read_test_image("Tom_Hanks_54745.png"))

    live_app.testid("pop-out").click()  # a second click brings the same window back, no second one
    assert len(live_app.page.context.pages) == 2
    assert live_app.errors_besides_refusals() == []


def test_record_saves_a_playable_labelled_webm(live_app, swapper, read_test_image, tmp_path):
    record = live_app.testid("record")
    record.click()
    expect(record).to_have_attribute("data-recording", "on")
    live_app.page.wait_for_timeout(RECORD_S * 1000)
    record.click()
    link = live_app.testid("recording-link")
    expect(link).to_be_visible()
    expect(record).to_have_attribute("data-recording", "off")
    with live_app.page.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert download.suggested_filename.startswith("plasticvision-synthetic-")
    assert download.suggested_filename.endswith(".webm")
    path = tmp_path / download.suggested_filename
    download.save_as(path)

    with av.open(str(path)) as container:
        assert container.format.name.startswith("matroska")
        tags = {key.lower(): value for key, value in container.metadata.items()}
        frames = [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]
    assert tags.get("comment") == SYNTHETIC_NOTE and tags.get("digital_source_type") == SYNTHETIC_SOURCE_TYPE
    assert len(frames) >= 10, f"only {len(frames)} frames in {RECORD_S} s"
    assert frames[-1].shape == (480, 640, 3)
    camera = live_app.snapshot("#camera")
    assert swapped_to_hanks(swapper, frames[-1], camera, read_test_image("Tom_Hanks_54745.png"))
    assert live_app.errors_besides_refusals() == []
