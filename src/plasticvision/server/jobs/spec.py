"""What a video job swaps with, stored beside its upload: sources, settings, face map, the file's name.

The session that started a job lives in memory and may be gone when a restarted server
resumes it, so the job keeps its own copy, written once at submission (atomically, synced)
in the session store's archive format (no pickle; pictures as JPEG at quality 95). Every run
of a job, the first one too, swaps with what it reads back from this file, so a resumed job
renders exactly what an uninterrupted one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from plasticvision.engines.base import SourceFace
from plasticvision.video.chunks import durable_replace
from plasticvision.pipeline.facemap import FaceMapState
from plasticvision.pipeline.session import SwapSession
from plasticvision.server.sessions.codec import TreeWriter, pack, read_node, unpack
from plasticvision.settings import Settings


@dataclass(frozen=True)
class JobSpec:
    sources: tuple[SourceFace, ...]
    settings: Settings
    face_map: FaceMapState
    filename: str  # the upload's own name, for messages

    @classmethod
    def of(cls, session: SwapSession, settings: Settings, filename: str) -> JobSpec:
        return cls(tuple(session.sources), settings, session.face_map.state, filename)

    def save(self, path: Path) -> None:
        writer = TreeWriter()
        manifest = {
            "sources": writer.node(self.sources),
            "face_map": writer.node(self.face_map),
            "settings": self.settings.model_dump(mode="json"),
            "filename": self.filename,
        }
        partial = path.with_name(f".{path.name}.part")
        partial.write_bytes(pack(manifest, writer.arrays))
        durable_replace(partial, path)

    @classmethod
    def load(cls, path: Path) -> JobSpec:
        manifest, arrays = unpack(path.read_bytes())
        return cls(
            tuple(read_node(manifest["sources"], arrays)),
            Settings.model_validate(manifest["settings"]),
            read_node(manifest["face_map"], arrays),
            manifest["filename"],
        )

    def session(self, new_session: SwapSession) -> SwapSession:
        """`new_session` (a fresh session of the running engine) set up to swap as the job's did."""
        new_session.use_prepared(self.sources)
        new_session.face_map.restore(self.face_map)
        return new_session

