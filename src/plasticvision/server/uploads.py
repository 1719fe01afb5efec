"""Uploaded files to BGR frames, within the limits: files per request, bytes per file, pixels per image.

Starlette spools each part to an anonymous temporary file (no name on disk) and FastAPI
closes it when the request ends, so nothing outlives a request, failed or not.
"""

from __future__ import annotations

from fastapi import UploadFile

from plasticvision.config import ServerConfig
from plasticvision.errors import BadImage, PlasticVisionError
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


async def decode_upload(upload: UploadFile, config: ServerConfig, workers: Workers) -> Frame:
    """One upload decoded off the event loop; errors name the file."""
    data = await read_upload(upload, config)
    try:
        return await workers.run(decode_image, data, config.max_image_pixels)
    except BadImage as exc:
        raise type(exc)(f"{upload.filename or 'file'}: {exc}") from exc


async def decode_uploads(files: list[UploadFile], config: ServerConfig, workers: Workers, field: str) -> list[Frame]:
    check_count(files, config, field)
    return [await decode_upload(upload, config, workers) for upload in files]
