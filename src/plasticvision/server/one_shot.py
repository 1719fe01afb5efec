"""The session a one-off swap (an image, a video job) runs in: the uploaded sources plus your face map.

A one-off swap never changes your session's source faces; it copies the session's face map
(frozen data, so the copy is free and later changes do not reach a job already running).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import File, UploadFile

from plasticvision.api import FaceSwapper
from plasticvision.errors import PlasticVisionError
from plasticvision.pipeline.session import SwapSession
from plasticvision.server.uploads import Decoder
from plasticvision.server.workers import Workers

SourceFiles = Annotated[
    list[UploadFile] | None,
    File(description="1-10 photos of the source face; may be left out when your session has a face map"),
]


class MissingSources(PlasticVisionError):
    type = "missing_sources"


async def one_shot_session(
    swapper: FaceSwapper, session: SwapSession, files: list[UploadFile] | None, decoder: Decoder, workers: Workers
) -> SwapSession:
    """A fresh session with these sources and `session`'s face map; sources are required without a map."""
    one_shot = swapper.new_session()
    one_shot.face_map.restore(session.face_map.state)
    if files:
        sources = await decoder.many(files, "source_files")
        await workers.run(one_shot.set_sources, sources)
    elif not one_shot.can_swap:
        raise MissingSources("source_files: Field required (or set a face map first: POST /face-map)")
    return one_shot
