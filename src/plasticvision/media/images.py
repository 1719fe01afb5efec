"""Image bytes in, BGR frames out (any common format, bounded size), and labelled outputs.

Pillow reads the header first, so a decompression bomb is refused before a single pixel
is decoded; JPEG and PNG then go through OpenCV's faster decoder.
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from plasticvision.errors import BadImage, ImageTooLarge
from plasticvision.types import Frame

DEFAULT_MAX_PIXELS = 40_000_000
FAST_FORMATS = {"JPEG", "PNG"}
# The formats the README promises, and no others: Pillow would also hand EPS to Ghostscript and
# parse dozens of rare formats whose decoders see little use (MPO: phones' multi-picture JPEG).
IMAGE_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF", "GIF", "HEIF", "AVIF")

SYNTHETIC_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
SYNTHETIC_NOTE = "Synthetic: face swapped by PlasticVision (AI-generated composite)."
XMP_PACKET = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    Iptc4xmpExt:DigitalSourceType="{SYNTHETIC_SOURCE_TYPE}">
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{SYNTHETIC_NOTE}</rdf:li></rdf:Alt></dc:description>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>"""

try:  # HEIC/AVIF from phones, when the optional extra is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - optional
    pass

Image.init()  # every plugin registered, so the allow-list below names only formats this Pillow can open
OPEN_FORMATS = tuple(name for name in IMAGE_FORMATS if name in Image.OPEN)


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Frame:
    """Decode image bytes of any common format into an HxWx3 uint8 BGR frame.

    Raises BadImage for empty, truncated or non-image data and ImageTooLarge above `max_pixels`.
    """
    if not data:
        raise BadImage("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=OPEN_FORMATS)
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLarge(f"image is {width}x{height} pixels; the limit is {max_pixels:,} pixels")
            if image.format == "JPEG" and not data.rstrip(b"\0\r\n ").endswith(b"\xff\xd9"):
                raise BadImage("truncated JPEG: the file ends before the image does")
            frame = _fast_decode(data) if image.format in FAST_FORMATS and image.mode in ("RGB", "L", "RGBA", "P") else None
            if frame is None:
                frame = _pillow_to_bgr(image)
    except (ImageTooLarge, BadImage):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"image is too large to decode safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise BadImage("not a readable image: unknown or unsupported format") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadImage(f"not a readable image: {exc}") from exc
    if frame.shape[0] < 8 or frame.shape[1] < 8:
        raise BadImage(f"image is too small ({frame.shape[1]}x{frame.shape[0]})")
    return frame


def _fast_decode(data: bytes) -> Frame | None:
    """OpenCV's decoder (libjpeg-turbo), honouring EXIF orientation; None when it cannot read it."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def _pillow_to_bgr(image: Image.Image) -> Frame:
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        pixels = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if pixels.max() > 255 else 255.0
        gray = np.clip(pixels / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    rgb = np.asarray(image.convert("RGB"))
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def read_image(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Frame:
    """Decode an image file, with the file name in the error message."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise BadImage(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return decode_image(data, max_pixels)
    except BadImage as exc:
        raise type(exc)(f"{path}: {exc}") from exc


def encode_png(frame: Frame, synthetic: bool = True) -> bytes:
    """PNG bytes; swapped outputs say they are synthetic (XMP DigitalSourceType + a text chunk)."""
    image = Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    info = PngImagePlugin.PngInfo()
    if synthetic:
        info.add_itxt("XML:com.adobe.xmp", XMP_PACKET)
        info.add_text("Description", SYNTHETIC_NOTE)
        info.add_text("Software", "PlasticVision")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, compress_level=3)
    return buffer.getvalue()


def encode_jpeg(frame: Frame, quality: int = 80) -> bytes:
    """JPEG bytes for the live stream (libjpeg-turbo)."""
    ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise BadImage("could not encode the frame as JPEG")
    return buffer.tobytes()


def write_image(path: str, frame: Frame, synthetic: bool = True) -> None:
    """Write PNG (labelled as synthetic) or any other format OpenCV knows, by the file's extension."""
    if path.lower().endswith(".png"):
        with open(path, "wb") as handle:
            handle.write(encode_png(frame, synthetic))
        return
    if not cv2.imwrite(path, frame):
        raise BadImage(f"cannot write {path}: unknown image extension or unwritable folder")
