"""Image decoding: every common format and mode becomes a BGR frame; bad data becomes a clear error."""

from __future__ import annotations

import io
import re
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from plasticvision.errors import BadImage, ImageTooLarge
from plasticvision.media.images import SYNTHETIC_SOURCE_TYPE, decode_image, encode_png


@pytest.fixture(scope="module")
def astronaut_rgb(read_test_image) -> np.ndarray:
    return cv2.cvtColor(read_test_image("astronaut.png"), cv2.COLOR_BGR2RGB)


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"])
def test_common_formats_decode_to_bgr(astronaut_rgb, fmt):
    data = encoded(Image.fromarray(astronaut_rgb), fmt)
    frame = decode_image(data)
    assert frame.shape == (512, 512, 3) and frame.dtype == np.uint8
    # Red suit stays red: the channels come back in BGR order.
    suit_bgr = frame[480, 100].astype(int)
    assert suit_bgr[2] > suit_bgr[0] + 60


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16"])
def test_modes_become_three_channel_8_bit(astronaut_rgb, mode):
    image = Image.fromarray(astronaut_rgb)
    if mode == "I;16":
        gray = cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257
        image = Image.fromarray(gray)
    else:
        image = image.convert(mode)
    frame = decode_image(encoded(image, "PNG"))
    assert frame.shape == (512, 512, 3) and frame.dtype == np.uint8
    assert 60 < frame.mean() < 200  # 16-bit scaled down, not clipped to white or black


def test_sixteen_bit_tiff(astronaut_rgb):
    gray = cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257
    frame = decode_image(encoded(Image.fromarray(gray), "TIFF"))
    assert frame.shape == (512, 512, 3)
    assert abs(float(frame.mean()) - float(gray.mean()) / 257) < 2


def png_with_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size: the classic decompression bomb."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImageTooLarge, match="too large"):
        decode_image(png_with_size(100_000, 100_000))


def test_pixel_limit_is_configurable(astronaut_rgb):
    with pytest.raises(ImageTooLarge, match="limit"):
        decode_image(encoded(Image.fromarray(astronaut_rgb), "PNG"), max_pixels=100_000)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"hello, I am a text file named photo.jpg\n", "not a readable image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "not a readable image"),
    ],
)
def test_bad_data_gives_a_clear_error(data, message):
    with pytest.raises(BadImage, match=message):
        decode_image(data)


def test_truncated_jpeg_is_refused(astronaut_rgb):
    data = encoded(Image.fromarray(astronaut_rgb), "JPEG")
    with pytest.raises(BadImage, match="truncated"):
        decode_image(data[: len(data) // 2])


def test_png_output_says_it_is_synthetic(astronaut_rgb):
    data = encode_png(cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR))
    image = Image.open(io.BytesIO(data))
    xmp = image.info["XML:com.adobe.xmp"]
    assert re.search(r'DigitalSourceType="' + re.escape(SYNTHETIC_SOURCE_TYPE), xmp)
    assert "Synthetic" in image.info["Description"]
