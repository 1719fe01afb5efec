"""Typed failures, knowing nothing of HTTP: each says what went wrong as a stable `type` word.

The server maps the types to HTTP codes and WebSocket close codes in one place
(`plasticvision.server.errors`), the CLI to one-line messages; clients branch on the type.
"""

from typing import ClassVar


class PlasticVisionError(Exception):
    """Base class: the message is meant for the user, one line; `type` is for programs."""

    type: ClassVar[str] = "bad_request"


class BadImage(PlasticVisionError):
    """An upload or file that is not a decodable image (or is too large to decode safely)."""

    type = "bad_image"


class ImageTooLarge(BadImage):
    """More pixels than the configured limit: a decompression bomb or simply too big."""

    type = "image_too_large"


class BadVideo(PlasticVisionError):
    """A file that is not a decodable video."""

    type = "bad_video"


class DiskFull(PlasticVisionError):
    """Writing an output ran out of disk space (or hit a file-size limit); nothing partial is left."""

    type = "disk_full"


class NoFaceFound(PlasticVisionError):
    """A source image in which no face was detected."""

    type = "no_face"


class NoSourceFaces(PlasticVisionError):
    """A swap was asked for before any source face was uploaded."""

    type = "no_source_faces"


class ModelMissing(PlasticVisionError):
    """An engine's weights are not in the models dir (and could not be fetched)."""

    type = "model_missing"


class ModelChecksumMismatch(ModelMissing):
    """A weights file whose SHA-256 differs from the catalog's."""


class UnsupportedOption(PlasticVisionError):
    """A setting that the running engine cannot honour (e.g. enhance on the dlib engine)."""

    type = "unsupported_option"


class ModelUnusable(UnsupportedOption):
    """A chosen model's file is there but cannot be run: not ONNX, or not the interface its name promises."""


class DeviceUnavailable(PlasticVisionError):
    """A camera, virtual camera or preview window that cannot be opened: missing, busy or not installed."""

    type = "device_unavailable"


class OutputNotWritable(PlasticVisionError):
    """An output file that cannot be created where the user asked for it (the CLI's; never a request's)."""

    type = "output_not_writable"
