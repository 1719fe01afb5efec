"""Who is who: faces matched to the face map's people with the engine's own recognizer.

A face is a mapped person when their embeddings are closer than the engine's threshold
(Euclidean distance, the engine's own space). Matching is one-to-one within a frame: each
person goes to the closest face, so two faces never both become one mapped person.
"""

from __future__ import annotations

from collections.abc import Sequence

from plasticvision.engines.base import identity_distance
from plasticvision.errors import UnsupportedOption
from plasticvision.pipeline.facemap import MappedPerson
from plasticvision.types import Embedding

MATCH_THRESHOLDS = {
    "dlib": 0.6,  # dlib's ResNet: < 0.6 apart is the same person (99.38 % on LFW at this threshold)
    "inswapper": 1.1,  # ArcFace, L2-normalised: distance 1.1 = cosine similarity 0.395
}


def match_threshold(engine_name: str) -> float:
    """The documented same-person distance of an engine's recognizer."""
    try:
        return MATCH_THRESHOLDS[engine_name]
    except KeyError:
        raise UnsupportedOption(f"face mapping has no match threshold for the '{engine_name}' engine") from None


def assign_people(
    embeddings: Sequence[Embedding], people: Sequence[MappedPerson], threshold: float
) -> list[MappedPerson | None]:
    """For each face, the mapped person it is (or None): the closest pairs first, each person once."""
    pairs = sorted(
        (identity_distance(embedding, person.embedding), face, index)
        for face, embedding in enumerate(embeddings)
        for index, person in enumerate(people)
    )
    assigned: list[MappedPerson | None] = [None] * len(embeddings)
    taken: set[int] = set()
    for distance, face, index in pairs:
        if distance >= threshold:
            break
        if assigned[face] is None and index not in taken:
            assigned[face] = people[index]
            taken.add(index)
    return assigned
