"""The image swap, video swap and face detection panels: a file in, a result shown and downloadable."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.video_clips import make_clip

pytestmark = pytest.mark.browser


CLIP_FRAMES = 20


def result_of(app, form_id: str):
    """The form's result figure once shown: its image and its download link."""
    figure = app.page.locator(f"#{form_id} .result")
    expect(figure).to_be_visible(timeout=60_000)
    image = figure.locator("img")
    app.page.wait_for_function("(image) => image.complete && image.naturalWidth > 0", arg=image.element_handle())
    return image, figure.locator("a[download]")


def upload_hanks(app, data_dir):
    app.give_consent()
    app.upload_sources(data_dir / "Tom_Hanks_54745.png")
    expect(app.testid("source-count")).to_have_text("1")


def test_image_swap_shows_a_downloadable_result(app, data_dir):
    upload_hanks(app, data_dir)
    app.testid("image-target").set_input_files(data_dir / "astronaut.png")
    app.page.locator("#image-swap button[type=submit]").click()

    image, link = result_of(app, "image-swap")
    assert image.evaluate("(image) => [image.naturalWidth, image.naturalHeight]") == [512, 512]
    expect(app.page.locator("#image-swap .message")).to_have_text("1 of 1 face(s) swapped.")
    with app.page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "swapped.png"
    assert download.value.path().read_bytes().startswith(b"\x89PNG")
    assert app.console_errors == []


def test_image_swap_asks_for_source_faces_first(app, data_dir):
    app.give_consent()
    app.testid("image-target").set_input_files(data_dir / "astronaut.png")
    app.page.locator("#image-swap button[type=submit]").click()
    expect(app.page.locator("#image-swap .message")).to_contain_text("Upload source faces first")
    expect(app.page.locator("#image-swap .result")).to_be_hidden()


def test_face_detection_needs_no_consent(app, data_dir):
    app.testid("detect-file").set_input_files(data_dir / "astronaut.png")
    app.page.locator("#detect button[type=submit]").click()
    image, link = result_of(app, "detect")
    assert image.evaluate("(image) => image.naturalWidth") == 512
    expect(app.page.locator("#detect .message")).to_have_text("1 face(s) found.")
    assert link.get_attribute("href").startswith("blob:")
    assert app.console_errors == []


def test_video_swap_shows_progress_and_a_playable_result(app, data_dir, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", size=(320, 240), fps=10, seconds=CLIP_FRAMES / 10)
    upload_hanks(app, data_dir)
    app.testid("video-target").set_input_files(clip)
    app.page.locator("#video-swap button[type=submit]").click()

    progress = app.testid("video-progress")
    expect(progress).to_be_visible()
    figure = app.page.locator("#video-swap .result")
    expect(figure).to_be_visible(timeout=120_000)
    expect(app.page.locator("#video-swap .progress-text")).to_contain_text(re.compile(rf"/{CLIP_FRAMES} frames"))
    expect(progress).to_have_attribute("value", "100")
    video = figure.locator("video")
    app.page.wait_for_function("(video) => video.readyState >= 1", arg=video.element_handle(), timeout=15_000)
    assert video.evaluate("(video) => [video.videoWidth, video.videoHeight]") == [320, 240]
    assert figure.locator("a[download]").get_attribute("download") == "swapped.mp4"
    assert app.console_errors == []
