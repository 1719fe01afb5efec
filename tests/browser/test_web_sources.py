"""Source faces through the page: consent first, thumbnails and count, server errors shown."""

from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import expect

from tests.browser.session_state import session_status

pytestmark = pytest.mark.browser


def faces_on_server(server_url: str, session_id: str) -> int:
    return session_status(server_url, session_id)["faces_loaded"]


def test_nothing_is_uploaded_or_streamed_before_consent(app, data_dir, server_url):
    app.upload_sources(data_dir / "Tom_Hanks_54745.png")
    expect(app.page.locator("#consent-message")).to_contain_text("consent")
    expect(app.testid("consent")).to_be_focused()
    app.testid("start-camera").click()
    expect(app.testid("status")).to_have_attribute("data-state", "idle")
    assert faces_on_server(server_url, app.session_id) == 0
    assert app.stats()["sent"] == 0
    assert app.console_errors == []

    app.give_consent()
    expect(app.page.locator("#consent-message")).to_be_empty()


def test_several_faces_show_as_thumbnails(app, data_dir, server_url):
    app.give_consent()
    app.upload_sources(data_dir / "Tom_Hanks_54745.png", data_dir / "astronaut.png")
    expect(app.testid("source-count")).to_have_text("2")
    expect(app.page.locator("#thumbnails img")).to_have_count(2)
    expect(app.testid("source-message")).to_have_attribute("data-kind", "ok")
    assert faces_on_server(server_url, app.session_id) == 2
    assert app.console_errors == []


# Drops files on the drop zone the way a drag from the desktop does: a DataTransfer holding Files.
DROP_JS = """([selector, files]) => {
  const transfer = new DataTransfer();
  for (const [name, data] of files) {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type: "image/png" }));
  }
  const zone = document.querySelector(selector);
  zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
}"""


def test_faces_can_be_dropped_on_the_drop_zone(app, data_dir, server_url):
    app.give_consent()
    hanks = data_dir / "Tom_Hanks_54745.png"
    app.page.evaluate(DROP_JS, ["#drop-zone", [[hanks.name, base64.b64encode(hanks.read_bytes()).decode()]]])
    expect(app.testid("source-count")).to_have_text("1")
    expect(app.page.locator("#thumbnails img")).to_have_count(1)
    assert faces_on_server(server_url, app.session_id) == 1
    assert app.console_errors == []


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("chelsea.png", None, re.compile("no face", re.I)),
        ("notes.jpg", b"this is text, not a photo\n", re.compile("image", re.I)),
    ],
    ids=["cat-photo", "text-file"],
)
def test_a_refused_upload_shows_the_server_error(app, data_dir, server_url, name, content, expected):
    app.give_consent()
    upload = {"name": name, "mimeType": "image/jpeg", "buffer": content} if content else str(data_dir / name)
    app.testid("source-input").set_input_files(upload)
    message = app.testid("source-message")
    expect(message).to_have_attribute("data-kind", "error")
    expect(message).to_have_text(expected)
    expect(app.testid("source-count")).to_have_text("0")
    assert faces_on_server(server_url, app.session_id) == 0
    assert app.errors_besides_refusals() == []
