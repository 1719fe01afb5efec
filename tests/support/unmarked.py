"""Sessions without the provenance watermark, for tests that measure the swap itself (halos, a kept
mouth): the mark deliberately changes a box around each face by a few grey levels, and
tests/provenance covers it."""

from __future__ import annotations

from plasticvision.pipeline.session import SwapSession
from plasticvision.provenance.watermark import Watermarker


class Unmarked(Watermarker):
    def __init__(self) -> None:
        super().__init__(0)

    def mark_faces(self, frame, boxes):  # type: ignore[no-untyped-def]
        return frame


def unmarked(session: SwapSession) -> SwapSession:
    session.marker = Unmarked()
    return session
