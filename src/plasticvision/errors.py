"""Typed failures. The server and the CLI map them to HTTP codes and exit messages in one place each."""


class PlasticVisionError(Exception):
    """Base class: the message is meant for the user, one line."""

    status_code = 400


class BadImage(PlasticVisionError):
    """An upload or file that is not a decodable image (or is too large to decode safely)."""

    status_code = 415


class ImageTooLarge(BadImage):
    """More pixels than the configured limit: a decompression bomb or simply too big."""

    status_code = 413


class BadVideo(PlasticVisionError):
    """A file that is not a decodable video."""

    status_code = 415


class DiskFull(PlasticVisionError):
    """Writing an output ran out of disk space (or hit a file-size limit); nothing partial is left."""

    status_code = 507


class NoFaceFound(PlasticVisionError):
    """A source image in which no face was detected."""

    status_code = 422


class NoSourceFaces(PlasticVisionError):
    """A swap was asked for before any source face was uploaded."""

    status_code = 409


class ModelMissing(PlasticVisionError):
    """An engine's weights are not in the models dir (and could not be fetched)."""

    status_code = 503


class ModelChecksumMismatch(ModelMissing):
    """A weights file whose SHA-256 differs from the catalog's."""


class UnsupportedOption(PlasticVisionError):
    """A setting that the running engine cannot honour (e.g. enhance on the dlib engine)."""

    status_code = 422


class ModelUnusable(UnsupportedOption):
    """A chosen model's file is there but cannot be run: not ONNX, or not the interface its name promises."""


class DeviceUnavailable(PlasticVisionError):
    """A camera, virtual camera or preview window that cannot be opened: missing, busy or not installed."""

    status_code = 503


class OutputNotWritable(PlasticVisionError):
    """An output file that cannot be created where the user asked for it (the CLI's; never a request's)."""

    status_code = 503
