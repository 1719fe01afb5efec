"""The watermark on real photos: invisible enough (PSNR), found after JPEG, scaling and cropping, not
found on unmarked photos, and its payload read back when the mark is strong."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from plasticvision.provenance.detect import detect
from plasticvision.provenance.watermark import Watermarker, crc8, payload_bits

INSTALL = 0x3C5A17
FACE_BOX = np.array([150, 70, 290, 230], np.float32)  # the astronaut's face, x0 y0 x1 y1


@pytest.fixture(scope="module")
def photo(read_test_image) -> np.ndarray:
    return read_test_image("astronaut.png")


@pytest.fixture(scope="module")
def marked(photo) -> np.ndarray:
    return Watermarker(INSTALL).mark_faces(photo.copy(), [FACE_BOX])


def jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    return cv2.imdecode(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_the_mark_stays_around_the_face_and_under_the_psnr_floor(photo, marked):
    changed = np.argwhere(np.any(marked != photo, axis=2))
    (y0, x0), (y1, x1) = changed.min(axis=0), changed.max(axis=0)
    assert 100 <= x0 and x1 <= 340 and 20 <= y0 and y1 <= 280, "marked outside the grown face box"
    assert psnr(marked, photo) >= 40.0


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param(lambda f: f, id="clean"),
        pytest.param(lambda f: jpeg(f, 50), id="jpeg50"),
        pytest.param(lambda f: cv2.resize(f, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA), id="half"),
        pytest.param(lambda f: f[26:-25, 26:-25], id="crop10"),
    ],
)
def test_the_mark_survives(marked, attack):
    assert detect(attack(marked)).marked


@pytest.mark.parametrize("name", ["astronaut.png", "chelsea.png", "coffee.png", "t1.jpg"])
def test_unmarked_photos_are_not_marked(read_test_image, name):
    assert not detect(read_test_image(name)).marked


def test_a_mark_on_a_plain_picture_carries_the_install_id():
    """Two chips a bit: the id reads back where the picture does not drown it (here a plain grey
    picture; on busy photos often not, and the detection never depends on it)."""
    grey = np.full((360, 480, 3), 128, np.uint8)
    marked = Watermarker(INSTALL).mark_faces(grey, [np.array([120, 80, 360, 280], np.float32)])
    found = detect(jpeg(marked, 75))
    assert found.marked and found.install == INSTALL


def test_the_payload_is_the_id_and_its_crc():
    bits = payload_bits(INSTALL)
    word = int("".join("1" if b > 0 else "0" for b in bits), 2)
    assert (word >> 8, word & 0xFF) == (INSTALL, crc8(INSTALL))
