"""Source faces for your session (`/upload-source-faces`) and face detection drawn on an image (`/detect-faces`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile

from plasticvision.media.drawing import draw_faces
from plasticvision.media.images import encode_png
from plasticvision.server.deps import ApiKeyDep, ConfigDep, SessionDep, SwapperDep, WorkersDep
from plasticvision.server.ratelimit import RateLimitDep
from plasticvision.server.schemas import ERROR_RESPONSES, UploadResult, png_response
from plasticvision.server.uploads import decode_upload, decode_uploads
from plasticvision.types import Face, Frame

router = APIRouter(tags=["faces"], dependencies=[ApiKeyDep], responses=ERROR_RESPONSES)


def annotated_png(image: Frame, faces: list[Face]) -> bytes:
    """Detections drawn on a real photo: a diagnostic, not a synthetic image, so no synthetic label."""
    return encode_png(draw_faces(image, faces), synthetic=False)


@router.post("/upload-source-faces", response_model=UploadResult, dependencies=[RateLimitDep])
async def upload_source_faces(
    files: Annotated[list[UploadFile], File(description="1-10 photos of the source face (JPG, PNG, WebP, ...)")],
    session: SessionDep,
    config: ConfigDep,
    workers: WorkersDep,
) -> UploadResult:
    """Replace your session's source faces; all or nothing, so one bad file keeps the old set."""
    images = await decode_uploads(files, config, workers, "files")
    count = await workers.run(session.set_sources, images)
    return UploadResult(success=True, count=count, message=f"{count} source face(s) loaded")


@router.post(
    "/detect-faces",
    response_class=Response,
    responses=png_response("the image with the faces drawn"),
    dependencies=[RateLimitDep],
)
async def detect_faces(
    file: Annotated[UploadFile, File(description="an image to find faces in")],
    swapper: SwapperDep,
    config: ConfigDep,
    workers: WorkersDep,
) -> Response:
    """The image with each face's box, landmarks and score drawn; `X-Faces-Found` says how many."""
    image = await decode_upload(file, config, workers)
    faces = await workers.run(swapper.detect, image)
    png = await workers.run(annotated_png, image, faces)
    return Response(png, media_type="image/png", headers={"X-Faces-Found": str(len(faces))})
