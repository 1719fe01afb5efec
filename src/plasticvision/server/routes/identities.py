"""Who becomes whom, per session: named source identities (`/identities`) and the face map (`/face-map`).

A person is added to the face map by a reference photo of them or by the id of a face from
`POST /detect-faces?format=json`; picking the same person again changes their identity.
`/swap-image`, video jobs and the stream use the map as soon as it has a person.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field

from plasticvision.errors import PlasticVisionError
from plasticvision.pipeline.facemap import MappedPerson
from plasticvision.pipeline.mapper import FaceMapper
from plasticvision.pipeline.identities import IDENTITY_NAME
from plasticvision.server.deps import ApiKeyDep, DecoderDep, RegistryDep, SessionDep, WorkersDep
from plasticvision.server.openapi import IMAGE_TYPES, upload_fields
from plasticvision.server.schemas import ERROR_RESPONSES

router = APIRouter(tags=["face map"], dependencies=[ApiKeyDep], responses=ERROR_RESPONSES)  # 404: an unknown name or id


class OneReference(PlasticVisionError):
    type = "invalid_request"


class IdentityInfo(BaseModel):
    name: str
    photos: int = Field(description="source photos prepared for this identity")


class IdentityList(BaseModel):
    identities: list[IdentityInfo]


class IdentityCreated(BaseModel):
    success: bool
    identity: IdentityInfo
    replaced: bool = Field(description="an identity of this name existed and was replaced")


class IdentityRemoved(BaseModel):
    success: bool
    removed: str
    unmapped: list[str] = Field(description="ids of the face-map people that used it and were removed")


class PersonInfo(BaseModel):
    id: str
    identity: str = Field(description="the identity put on this person")
    thumbnail: str = Field(description="the reference face as a data: URL (JPEG)")

    @classmethod
    def of(cls, person: MappedPerson) -> PersonInfo:
        picture = "data:image/jpeg;base64," + base64.b64encode(person.thumbnail).decode()
        return cls(id=person.id, identity=person.identity, thumbnail=picture)


class FaceMapInfo(BaseModel):
    engine: str
    threshold: float = Field(description="faces closer than this to a person's reference are that person")
    people: list[PersonInfo]


class PersonMapped(BaseModel):
    success: bool
    person: PersonInfo


def face_map_info(mapper: FaceMapper) -> FaceMapInfo:
    people = [PersonInfo.of(person) for person in mapper.state.people]
    return FaceMapInfo(engine=mapper.engine.name, threshold=mapper.threshold, people=people)


@router.post(
    "/identities", status_code=201, response_model=IdentityCreated, openapi_extra=upload_fields(files=IMAGE_TYPES)
)
async def create_identity(
    name: Annotated[
        str,
        Form(
            description="1-40 letters, digits, spaces, '.', \"'\", '_' or '-'",
            json_schema_extra={"pattern": IDENTITY_NAME.pattern},  # documented; the face map checks it
        ),
    ],
    files: Annotated[list[UploadFile], File(description="1-10 photos of this person")],
    session: SessionDep,
    decoder: DecoderDep,
    workers: WorkersDep,
) -> IdentityCreated:
    """Prepares the photos once, all or nothing; an identity of the same name is replaced."""
    images = await decoder.many(files, "files")
    existed = any(i.name == name.strip() for i in session.face_map.state.identities)
    identity = await workers.run(session.face_map.add_identity, name, images)
    return IdentityCreated(success=True, identity=IdentityInfo(**identity.to_json()), replaced=existed)


@router.get("/identities", response_model=IdentityList)
async def list_identities(session: SessionDep) -> IdentityList:
    return IdentityList(identities=[IdentityInfo(**i.to_json()) for i in session.face_map.state.identities])


@router.delete("/identities/{name}", response_model=IdentityRemoved)
async def delete_identity(name: str, session: SessionDep, registry: RegistryDep) -> IdentityRemoved:
    """Also removes the face-map people that this identity was put on."""
    unmapped = await registry.change(session.face_map.remove_identity, name)
    return IdentityRemoved(success=True, removed=name, unmapped=unmapped)


@router.get("/face-map", response_model=FaceMapInfo)
async def read_face_map(session: SessionDep) -> FaceMapInfo:
    return face_map_info(session.face_map)


@router.post(
    "/face-map", status_code=201, response_model=PersonMapped, openapi_extra=upload_fields(reference=IMAGE_TYPES)
)
async def map_person(
    identity: Annotated[str, Form(description="the identity to put on this person")],
    session: SessionDep,
    registry: RegistryDep,
    decoder: DecoderDep,
    workers: WorkersDep,
    reference: Annotated[UploadFile | None, File(description="a photo of the target person (one face)")] = None,
    face_id: Annotated[str | None, Form(description="or: a face id from /detect-faces?format=json")] = None,
) -> PersonMapped:
    """Maps one target person to an identity, given by a reference photo or a detected face's id."""
    if (reference is None) == (not face_id):
        raise OneReference("give either a reference image or a face_id, not both and not neither")
    if face_id:
        person = await registry.change(session.face_map.map_face, face_id, identity)
    else:
        image = await decoder.one(reference)
        person = await workers.run(session.face_map.map_reference, image, identity)
    return PersonMapped(success=True, person=PersonInfo.of(person))


@router.delete("/face-map/{person_id}", response_model=FaceMapInfo)
async def unmap_person(person_id: str, session: SessionDep, registry: RegistryDep) -> FaceMapInfo:
    await registry.change(session.face_map.unmap, person_id)
    return face_map_info(session.face_map)


@router.delete("/face-map", response_model=FaceMapInfo)
async def clear_face_map(session: SessionDep, registry: RegistryDep) -> FaceMapInfo:
    """No face map any more: the session swaps its source faces as before (identities stay)."""
    await registry.change(session.face_map.clear)
    return face_map_info(session.face_map)
