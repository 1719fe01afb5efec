"""Sessions without the provenance watermark, for tests that compare exact pixels or the changed area
(the blend's arithmetic, where a crop lands): the mark changes a ring around each swapped face
by a few grey levels, and tests/provenance covers it. The bench's unmarked twin is one too."""

from __future__ import annotations

from plasticvision.pipeline.session import SwapSession
from plasticvision.provenance.watermark import Watermarker


class Unmarked(Watermarker):
    def __init__(self) -> None:
        super().__init__(0)

    def mark_faces(self, frame, faces, spare=()):  # type: ignore[no-untyped-def]
        return frame


def unmarked(session: SwapSession) -> SwapSession:
    session.marker = Unmarked()
    return session
