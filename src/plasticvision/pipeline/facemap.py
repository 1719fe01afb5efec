"""The face map as data: named source identities, and target people each mapped to one of them.

`FaceMapState` is frozen: every change returns a new state, so a session swaps its state in one
assignment (a frame in flight keeps the map it started with) and the whole thing can be
snapshotted, stored and restored as it is. The engine work (preparing photos, embedding a
reference) happens before a transition; the transitions themselves only check the rules.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

import numpy as np

from plasticvision.engines.base import identity_distance
from plasticvision.errors import PlasticVisionError
from plasticvision.pipeline.identities import Identity
from plasticvision.types import Embedding

MAX_IDENTITIES = 10  # per session
MAX_PEOPLE = 10  # target people in one face map


class UnknownIdentity(PlasticVisionError):
    type = "unknown_identity"


class UnknownPerson(PlasticVisionError):
    type = "unknown_person"


class TooManyIdentities(PlasticVisionError):
    type = "too_many_identities"


class TooManyPeople(PlasticVisionError):
    type = "too_many_people"


@dataclass(frozen=True, eq=False)
class MappedPerson:
    """A target person: who to look for (the reference face's embedding) and which identity they get.

    `thumbnail` is a small JPEG of the reference face, so a user sees whom they mapped.
    """

    id: str
    identity: str
    embedding: Embedding
    thumbnail: bytes = b""


@dataclass(frozen=True)
class FaceMapState:
    """A session's identities and face map; `people` empty means no map (the single-identity swap)."""

    identities: tuple[Identity, ...] = ()
    people: tuple[MappedPerson, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.people)

    def identity(self, name: str) -> Identity:
        for identity in self.identities:
            if identity.name == name:
                return identity
        known = ", ".join(repr(i.name) for i in self.identities) or "none yet"
        raise UnknownIdentity(f"no identity named {name!r} in this session (known: {known})")

    def person(self, person_id: str) -> MappedPerson:
        for person in self.people:
            if person.id == person_id:
                return person
        raise UnknownPerson(f"no person {person_id!r} in this session's face map")

    def with_identity(self, identity: Identity) -> FaceMapState:
        """Adds the identity, or replaces the one of the same name (people mapped to it keep it)."""
        others = tuple(i for i in self.identities if i.name != identity.name)
        if len(others) >= MAX_IDENTITIES:
            raise TooManyIdentities(f"a session holds at most {MAX_IDENTITIES} identities; delete one first")
        return replace(self, identities=(*others, identity))

    def without_identity(self, name: str) -> tuple[FaceMapState, list[str]]:
        """Removes the identity and the people mapped to it; returns the new state and their ids."""
        self.identity(name)
        unmapped = [p.id for p in self.people if p.identity == name]
        return (
            FaceMapState(
                tuple(i for i in self.identities if i.name != name),
                tuple(p for p in self.people if p.identity != name),
            ),
            unmapped,
        )

    def with_person(
        self, embedding: Embedding, identity: str, threshold: float, thumbnail: bytes = b""
    ) -> tuple[FaceMapState, MappedPerson]:
        """Maps the person with this face to `identity`.

        A face that matches a person already in the map (within `threshold`) re-assigns that
        person instead of adding a second entry for them: picking a face again changes its identity.
        """
        self.identity(identity)
        same = self.closest(embedding, threshold)
        if same is not None:
            person = replace(same, identity=identity)
            people = tuple(person if p is same else p for p in self.people)
            return replace(self, people=people), person
        if len(self.people) >= MAX_PEOPLE:
            raise TooManyPeople(f"a face map holds at most {MAX_PEOPLE} people; remove one first")
        person = MappedPerson(f"p-{uuid.uuid4().hex[:8]}", identity, np.asarray(embedding, np.float32), thumbnail)
        return replace(self, people=(*self.people, person)), person

    def without_person(self, person_id: str) -> FaceMapState:
        self.person(person_id)
        return replace(self, people=tuple(p for p in self.people if p.id != person_id))

    def cleared(self) -> FaceMapState:
        """No face map (the identities stay)."""
        return replace(self, people=())

    def closest(self, embedding: Embedding, threshold: float) -> MappedPerson | None:
        """The mapped person nearest to this face, if within `threshold`."""
        scored = [(identity_distance(embedding, p.embedding), i) for i, p in enumerate(self.people)]
        best = min(scored, default=None)
        return self.people[best[1]] if best is not None and best[0] < threshold else None
