"""Source faces for your session (`/upload-source-faces`) and face detection drawn on an image (`/detect-faces`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Header, Query, Response, UploadFile
from fastapi.responses import JSONResponse

from plasticvision.media.drawing import draw_faces
from plasticvision.media.images import encode_png
from plasticvision.server.deps import ApiKeyDep, DecoderDep, SessionDep, SwapperDep, WorkersDep
from plasticvision.server.middleware.ratelimit import RateLimitDep
from plasticvision.server.openapi import IMAGE_TYPES, upload_fields
from plasticvision.server.schemas import ERROR_RESPONSES, Detections, UploadResult, png_response
from plasticvision.types import Face, Frame

router = APIRouter(tags=["faces"], dependencies=[ApiKeyDep], responses=ERROR_RESPONSES)


def annotated_png(image: Frame, faces: list[Face]) -> bytes:
    """Detections drawn on a real photo: a diagnostic, not a synthetic image, so no synthetic label."""
    return encode_png(draw_faces(image, faces), synthetic=False)


@router.post(
    "/upload-source-faces",
    response_model=UploadResult,
    dependencies=[RateLimitDep],
    openapi_extra=upload_fields(files=IMAGE_TYPES),
)
async def upload_source_faces(
    files: Annotated[list[UploadFile], File(description="1-10 photos of the source face (JPG, PNG, WebP, ...)")],
    session: SessionDep,
    decoder: DecoderDep,
    workers: WorkersDep,
) -> UploadResult:
    """Replace your session's source faces; all or nothing, so one bad file keeps the old set."""
    images = await decoder.many(files, "files")
    count = await workers.run(session.set_sources, images)
    return UploadResult(success=True, count=count, message=f"{count} source face(s) loaded")


DETECT_EXAMPLE = {"count": 1, "faces": [{"id": "f-1a2b3c4d5e", "box": [10, 20, 110, 120], "score": 0.98}]}
DETECTED = png_response("the image with the faces drawn; as JSON, each face with its id")
DETECTED[200] |= {"model": Detections}  # FastAPI files the model as the JSON body, beside the PNG
DETECTED[200]["content"]["application/json"] = {"example": DETECT_EXAMPLE}


def wants_json(format: str | None, accept: str | None) -> bool:
    """`?format=json`, or an Accept header that asks for JSON and not for an image."""
    if format is not None:
        return format == "json"
    return accept is not None and "application/json" in accept and "image/" not in accept


@router.post(
    "/detect-faces",
    response_class=Response,
    responses=DETECTED,
    dependencies=[RateLimitDep],
    openapi_extra=upload_fields(file=IMAGE_TYPES),
)
async def detect_faces(
    file: Annotated[UploadFile, File(description="an image to find faces in")],
    swapper: SwapperDep,
    session: SessionDep,
    decoder: DecoderDep,
    workers: WorkersDep,
    format: Annotated[Literal["png", "json"] | None, Query(description="json: faces with ids for /face-map")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """The image with each face's box, landmarks and score drawn; `X-Faces-Found` says how many.

    As JSON (`?format=json` or `Accept: application/json`): each face, largest first, with an `id`
    that `POST /face-map` takes as `face_id` (kept with your session for its most recent 64 faces).
    """
    image = await decoder.one(file)
    if wants_json(format, accept):
        seen = await workers.run(session.face_map.detect, image)
        body = {"count": len(seen), "faces": [face.to_json() for face in seen]}
        return JSONResponse(body, headers={"X-Faces-Found": str(len(seen))})
    faces = await workers.run(swapper.detect, image)
    png = await workers.run(annotated_png, image, faces)
    return Response(png, media_type="image/png", headers={"X-Faces-Found": str(len(faces))})
