"""`/swap-image`: one-shot swap of uploaded source faces into a target image, returned as a labelled PNG."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile

from plasticvision.media.images import encode_png
from plasticvision.server.deps import ApiKeyDep, ConfigDep, SessionDep, SwapperDep, WorkersDep
from plasticvision.server.ratelimit import RateLimitDep
from plasticvision.server.schemas import ERROR_RESPONSES, png_response
from plasticvision.server.uploads import decode_upload, decode_uploads

router = APIRouter(tags=["swap"], dependencies=[ApiKeyDep], responses=ERROR_RESPONSES)


@router.post(
    "/swap-image",
    response_class=Response,
    responses=png_response("the swapped image, labelled as synthetic"),
    dependencies=[RateLimitDep],
)
async def swap_image(
    source_files: Annotated[list[UploadFile], File(description="1-10 photos of the source face")],
    target_file: Annotated[UploadFile, File(description="the image whose face is replaced")],
    session: SessionDep,
    swapper: SwapperDep,
    config: ConfigDep,
    workers: WorkersDep,
) -> Response:
    """Uses your session's settings but not its source faces; `X-Faces-Swapped` is 0 when no face was found."""
    sources = await decode_uploads(source_files, config, workers, "source_files")
    target = await decode_upload(target_file, config, workers)
    one_shot = swapper.new_session()
    await workers.run(one_shot.set_sources, sources)
    report = await workers.run(one_shot.swap, target, session.settings)
    png = await workers.run(encode_png, report.frame, not report.unchanged)
    headers = {"X-Faces-Swapped": str(report.faces_swapped), "X-Faces-Found": str(report.faces_found)}
    return Response(png, media_type="image/png", headers=headers)
