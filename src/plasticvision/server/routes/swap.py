"""`/swap-image`: one-shot swap of uploaded source faces (and the session's face map) into a target image,
returned as a labelled PNG."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile

from plasticvision.media.images import encode_png
from plasticvision.server.deps import ApiKeyDep, DecoderDep, MetricsDep, SessionDep, SwapperDep, WorkersDep
from plasticvision.server.middleware.ratelimit import RateLimitDep
from plasticvision.server.one_shot import SourceFiles, one_shot_session
from plasticvision.server.openapi import IMAGE_TYPES, upload_fields
from plasticvision.server.schemas import ERROR_RESPONSES, png_response

router = APIRouter(tags=["swap"], dependencies=[ApiKeyDep], responses=ERROR_RESPONSES)


@router.post(
    "/swap-image",
    response_class=Response,
    responses=png_response("the swapped image, labelled as synthetic"),
    dependencies=[RateLimitDep],
    openapi_extra=upload_fields(target_file=IMAGE_TYPES, source_files=IMAGE_TYPES),
)
async def swap_image(
    target_file: Annotated[UploadFile, File(description="the image whose face is replaced")],
    session: SessionDep,
    swapper: SwapperDep,
    decoder: DecoderDep,
    workers: WorkersDep,
    metrics: MetricsDep,
    source_files: SourceFiles = None,
) -> Response:
    """Uses your session's settings and face map but not its source faces; `X-Faces-Swapped` is 0 when
    no face was found. With a face map, `source_files` may be left out (they then only go on unmapped
    people, with `swap_all`)."""
    one_shot = await one_shot_session(swapper, session, source_files, decoder, workers)
    target = await decoder.one(target_file)
    report = await workers.run(swapper.swap_on_pool, one_shot, target, session.settings)
    png = await workers.run(encode_png, report.frame, not report.unchanged)
    metrics.image_swaps.inc()
    headers = {"X-Faces-Swapped": str(report.faces_swapped), "X-Faces-Found": str(report.faces_found)}
    return Response(png, media_type="image/png", headers=headers)
