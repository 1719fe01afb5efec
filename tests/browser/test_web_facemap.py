"""The "Who becomes whom" panel in real Chromium: two identities, two people picked from a detection,
and the image swap putting each identity on its person (checked with the engine's recognizer)."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest
from playwright.sync_api import expect

from tests.support.people import Crossing, compose, distances, embedding_of, head

pytestmark = pytest.mark.browser

LAYOUT = {"X": (20, 20), "Y": (250, 20), "Z": (135, 250)}
SIZE = (470, 470)

IMAGE_PIXELS_JS = """async (image) => {
  const blob = await (await fetch(image.src)).blob();
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}"""


def add_identity(app, name: str, path) -> None:
    app.testid("identity-name").fill(name)
    app.testid("identity-files").set_input_files(path)
    app.page.locator("#identity-form button[type=submit]").click()
    expect(app.page.locator(f'#identities li[data-identity="{name}"]')).to_be_visible(timeout=30_000)


def picked(app, box_index: int):
    """The detected people's list items, sorted top to bottom, then left to right."""
    items = app.page.locator("#detected-people li")
    boxes = [[float(v) for v in items.nth(i).get_attribute("data-box").split(",")] for i in range(items.count())]
    order = sorted(range(len(boxes)), key=lambda i: (round(boxes[i][1] / 100), boxes[i][0]))
    return items.nth(order[box_index])


def test_two_people_picked_from_a_detection_get_their_identities_in_the_image_swap(app, swapper, tmp_path):
    files = {}
    for name, image in {"a": head("A"), "b": head("B"), "group": compose(LAYOUT, SIZE)}.items():
        files[name] = tmp_path / f"{name}.png"
        cv2.imwrite(str(files[name]), image)
    app.give_consent()
    add_identity(app, "Alice", files["a"])
    add_identity(app, "Bob", files["b"])

    app.testid("facemap-image").set_input_files(files["group"])
    expect(app.page.locator("#detected-people li")).to_have_count(3, timeout=30_000)
    picked(app, 0).get_by_role("button", name="Alice").click()  # X, top left
    expect(app.page.locator("#mapped-people li")).to_have_count(1)
    expect(picked(app, 0).get_by_role("button", name="Alice")).to_have_attribute("aria-pressed", "true")
    picked(app, 1).get_by_role("button", name="Bob").click()  # Y, top right
    expect(app.page.locator("#mapped-people li")).to_have_count(2)
    thumbnail = app.page.locator('#mapped-people li[data-identity="Bob"] img').get_attribute("src")
    assert thumbnail.startswith("data:image/jpeg;base64,")  # the server's picture of whom was mapped
    mapped = app.page.locator("#mapped-people li").evaluate_all("(items) => items.map((i) => i.dataset.identity)")
    assert sorted(mapped) == ["Alice", "Bob"]

    app.testid("image-target").set_input_files(files["group"])  # no source faces uploaded: the map is enough
    app.page.locator("#image-swap button[type=submit]").click()
    expect(app.page.locator("#image-swap .message")).to_have_text("2 of 3 face(s) swapped.", timeout=60_000)
    image = app.page.locator("#image-swap .result img")
    app.page.wait_for_function("(image) => image.complete && image.naturalWidth > 0", arg=image.element_handle())
    png = base64.b64decode(image.evaluate(IMAGE_PIXELS_JS))
    out = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)

    people = {name: embedding_of(swapper.engine, head(name)) for name in "ABXY"}
    on_x = distances(swapper.engine, out, (120, 120), people)
    on_y = distances(swapper.engine, out, (350, 120), people)
    assert on_x["A"] < min(on_x["B"], on_x["X"]), on_x
    assert on_y["B"] < min(on_y["A"], on_y["Y"]), on_y
    assert app.errors_besides_refusals() == []


def test_people_are_picked_from_a_video_frame_and_from_the_camera(app, tmp_path):
    clip = Crossing(frames=30).write(tmp_path / "crossing.mp4")  # 2 s: half a second in, the two are apart
    face = tmp_path / "a.png"
    cv2.imwrite(str(face), head("A"))
    app.give_consent()
    add_identity(app, "Alice", face)

    app.testid("facemap-video").set_input_files(clip)
    expect(app.page.locator("#detected-people li")).to_have_count(2, timeout=30_000)  # X and Y, half a second in

    app.testid("facemap-camera").click()
    expect(app.testid("facemap-message")).to_have_text("Start the camera first (Live panel).")
    app.start_camera()
    app.testid("facemap-camera").click()
    expect(app.page.locator("#detected-people li")).to_have_count(1, timeout=30_000)  # the astronaut on the fake webcam
    app.page.locator("#detected-people li").get_by_role("button", name="Alice").click()
    expect(app.page.locator('#mapped-people li[data-identity="Alice"]')).to_have_count(1)
    assert app.errors_besides_refusals() == []
