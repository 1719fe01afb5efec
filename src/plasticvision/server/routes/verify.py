"""`/verify`: does an uploaded image or video carry our Content Credentials and watermark?"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel, Field

from plasticvision.provenance.verify import verify_bytes
from plasticvision.server.deps import ApiKeyDep, ConfigDep, WorkersDep
from plasticvision.server.middleware.ratelimit import RateLimitDep
from plasticvision.server.openapi import IMAGE_TYPES, VIDEO_TYPES, upload_fields
from plasticvision.server.schemas import ERROR_RESPONSES
from plasticvision.server.uploads import read_upload
from plasticvision.video.formats import SNIFF_BYTES, sniff

router = APIRouter(tags=["provenance"], dependencies=[ApiKeyDep], responses=ERROR_RESPONSES)


class CredentialsResult(BaseModel):
    state: str = Field(description="valid | untrusted (intact, signer not on a trust list) | tampered | none | unsupported")
    failures: list[str] = Field(description="c2pa validation failure codes, e.g. assertion.dataHash.mismatch")
    signer: str | None
    digital_source_type: str | None = Field(description="IPTC digital source type of the manifest's actions")
    claim_generator: str | None
    actions: list[str]


class Detection(BaseModel):
    marked: bool
    score: float = Field(description="the strongest window's sync correlation peak, in standard deviations")
    spread_score: float = Field(description="the windows' peaks at one shift added up, in standard deviations (a mark each window holds only part of)")
    scale: float = Field(description="the frame's size relative to the marked frame")
    install_id: str | None = Field(description="the marking install's id, when its payload could be read")
    scheme: str


class WatermarkResult(BaseModel):
    marked: bool
    frames_checked: int
    frames_marked: int = Field(description="frames in the windows where the mark was found")
    fraction: float
    window: int = Field(description="consecutive frames searched together (1 for an image)")
    best: Detection
    combined: Detection | None = Field(description="a video's sampled frames averaged: the mark adds up where each frame holds too little of it")


class VerifyResult(BaseModel):
    marked: bool = Field(description="true when the watermark or a manifest naming an AI source was found")
    kind: str = Field(description="image or video")
    credentials: CredentialsResult | None
    watermark: WatermarkResult


def video_demuxer(data: bytes) -> str | None:
    """The allow-list's demuxer for an uploaded video (no playlists, no probing)."""
    return sniff(data[:SNIFF_BYTES])


@router.post(
    "/verify",
    response_model=VerifyResult,
    dependencies=[RateLimitDep],
    openapi_extra=upload_fields(file=f"{IMAGE_TYPES}, {VIDEO_TYPES}"),
)
async def verify(
    file: Annotated[UploadFile, File(description="an image (PNG, JPEG, WebP, ...) or a video (MP4, WebM, ...)")],
    config: ConfigDep,
    workers: WorkersDep,
) -> VerifyResult:
    """Checks the file's C2PA manifest (valid, untrusted signer, tampered, none) and looks for the
    watermark (a video: on up to 48 frames spread over it). Uploads are limited like images."""
    data = await read_upload(file, config)
    report = await workers.run(verify_bytes, data, 48, config.max_image_pixels, video_demuxer)
    return VerifyResult.model_validate(report.to_json())
