"""Uploaded files to BGR frames, within the limits: files per request, bytes per file, pixels per image
and pixels per request (`Decoder`: eleven 40 MP files would be 1.3 GB of frames from one request).

Starlette spools each part to an anonymous temporary file (no name on disk) and FastAPI
closes it when the request ends, so nothing outlives a request, failed or not.
"""

from __future__ import annotations

from fastapi import UploadFile

from plasticvision.config import ServerConfig
from plasticvision.errors import BadImage, ImageTooLarge, PlasticVisionError
from plasticvision.media.images import decode_image
from plasticvision.server.workers import Workers
from plasticvision.types import Frame


class UploadTooLarge(PlasticVisionError):
    type = "file_too_large"


class TooManyFiles(PlasticVisionError):
    type = "too_many_files"


def check_count(files: list[UploadFile], config: ServerConfig, field: str) -> None:
    if len(files) > config.max_files:
        raise TooManyFiles(f"{field}: {len(files)} files; the limit is {config.max_files} per request")


async def read_upload(upload: UploadFile, config: ServerConfig) -> bytes:
    """The file's bytes, reading at most one byte past the limit."""
    data = await upload.read(config.max_upload_bytes + 1)
    if len(data) > config.max_upload_bytes:
        raise UploadTooLarge(f"{upload.filename or 'file'} is larger than the {config.max_upload_mb:g} MB limit")
    return data


class Decoder:
    """One request's decoding: each file within the per-image cap, all of them within the request's
    pixel budget (checked from each header before its pixels are decoded). FastAPI makes one per
    request (`deps.DecoderDep`), shared by every dependency of that request."""

    def __init__(self, config: ServerConfig, workers: Workers) -> None:
        self.config = config
        self.workers = workers
        self.pixels_left = config.max_request_pixels

    async def one(self, upload: UploadFile) -> Frame:
        """One upload decoded off the event loop; errors name the file."""
        data = await read_upload(upload, self.config)
        name = upload.filename or "file"
        limit = min(self.config.max_image_pixels, self.pixels_left)
        try:
            frame = await self.workers.run(decode_image, data, limit)
        except ImageTooLarge as exc:
            if limit < self.config.max_image_pixels:
                raise ImageTooLarge(
                    f"{name}: the files of this request are over {self.config.max_request_pixels:,} pixels together"
                ) from exc
            raise ImageTooLarge(f"{name}: {exc}") from exc
        except BadImage as exc:
            raise type(exc)(f"{name}: {exc}") from exc
        self.pixels_left -= frame.shape[0] * frame.shape[1]
        return frame

    async def many(self, files: list[UploadFile], field: str) -> list[Frame]:
        check_count(files, self.config, field)
        return [await self.one(upload) for upload in files]
