"""Source identities: a person's 1-10 photos prepared once, under a name the face map refers to.

An `Identity` is plain, frozen data (the engine's prepared sources and their mean embedding),
so a session's identities can be snapshotted and restored without touching the engine again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np

from plasticvision.engines.base import Engine, SourceFace
from plasticvision.errors import BadImage, NoFaceFound, PlasticVisionError
from plasticvision.pipeline.frames import check_frame
from plasticvision.types import Embedding, Frame

MAX_SOURCES = 10
IDENTITY_NAME = re.compile(r"[\w][\w .'-]{0,39}")  # letters (any script), digits, space . ' _ -


class BadIdentityName(PlasticVisionError):
    type = "bad_name"


def check_identity_name(name: str) -> str:
    """The name, trimmed; refused unless it is 1-40 letters, digits, spaces, '.', "'", '_' or '-'."""
    name = name.strip() if isinstance(name, str) else ""
    if not IDENTITY_NAME.fullmatch(name):
        raise BadIdentityName("an identity name must be 1-40 letters, digits, spaces, '.', \"'\", '_' or '-'")
    return name


def prepare_sources(engine: Engine, images: Sequence[Frame]) -> tuple[SourceFace, ...]:
    """Prepare 1-10 photos of one person; all or nothing, and a photo without a face is named."""
    if not 1 <= len(images) <= MAX_SOURCES:
        raise BadImage(f"expected 1 to {MAX_SOURCES} source images, got {len(images)}")
    prepared = []
    for index, image in enumerate(images, start=1):
        try:
            prepared.append(engine.prepare_source(check_frame(image)))
        except NoFaceFound as exc:
            raise NoFaceFound(f"no face found in source image {index} of {len(images)}") from exc
    return tuple(prepared)


def mean_embedding(embeddings: Sequence[Embedding]) -> Embedding:
    """One vector for several photos of a person: their mean, in the engine's own space."""
    return np.mean(np.stack([np.asarray(e, np.float32) for e in embeddings]), axis=0).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Identity:
    """A named source person: the engine's prepared photos and their mean embedding."""

    name: str
    sources: tuple[SourceFace, ...]
    embedding: Embedding

    @property
    def photos(self) -> int:
        return len(self.sources)

    def to_json(self) -> dict:
        return {"name": self.name, "photos": self.photos}


def prepare_identity(engine: Engine, name: str, images: Sequence[Frame]) -> Identity:
    """An `Identity` from 1-10 photos of one person (the slow part: detection and embedding, once)."""
    name = check_identity_name(name)
    sources = prepare_sources(engine, images)
    return Identity(name, sources, mean_embedding([source.embedding for source in sources]))
