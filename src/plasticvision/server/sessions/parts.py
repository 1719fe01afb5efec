"""What of a session is stored, part by part: each part turns its changes into store fields and back.

A part owns some field names, encodes what the session journals for its `kind`, and restores
a session from its own fields. Settings are one field per setting, so two replicas changing
different settings at once both win; sources are one field (an upload replaces them all),
holding the engine's prepared form and a bounded copy of the images, so a replica running
another engine, or a version whose prepared form changed, prepares them again. A new kind of
session data is one more part in `PARTS`. Named identities and the face map are the third part.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import cv2
import numpy as np
from pydantic import ValidationError

from plasticvision.engines.base import SourceFace
from plasticvision.errors import PlasticVisionError
from plasticvision.pipeline.facemap import FaceMapState
from plasticvision.pipeline.identities import Identity, prepare_identity
from plasticvision.pipeline.mapper import FaceMapChange
from plasticvision.pipeline.session import SourceUpload, SwapSession
from plasticvision.server.sessions.codec import BadStoredData, TreeWriter, encode_jpeg, pack, read_node, unpack
from plasticvision.settings import Settings
from plasticvision.types import Frame

log = logging.getLogger(__name__)

STORED_IMAGE_SIDE = 1024  # px, longest side of the kept copy of each source image
STORED_IMAGE_QUALITY = 90


class SessionPart(Protocol):
    kind: str  # what SwapSession.journal names this part's changes

    def owns(self, field: str) -> bool: ...

    def fields(self, value: object) -> dict[str, bytes | None]:
        """The store fields for a journaled change (None deletes a field)."""
        ...

    def restore(self, session: SwapSession, fields: Mapping[str, bytes]) -> None:
        """Set the session from this part's stored fields (none stored: the part's empty state)."""
        ...


class SettingsPart:
    kind = "settings"
    prefix = "settings."

    def owns(self, field: str) -> bool:
        return field.startswith(self.prefix)

    def fields(self, value: object) -> dict[str, bytes | None]:
        changes = dict(value)  # type: ignore[call-overload]
        return {self.prefix + name: json.dumps(setting).encode() for name, setting in changes.items()}

    def restore(self, session: SwapSession, fields: Mapping[str, bytes]) -> None:
        known = set(Settings.model_fields)
        values = {name.removeprefix(self.prefix): json.loads(raw) for name, raw in fields.items()}
        try:
            settings = Settings.model_validate({name: value for name, value in values.items() if name in known})
        except ValidationError as exc:
            log.warning("stored settings are invalid here (%s); using the defaults", exc)
            settings = Settings()
        if settings.enhance and not session.engine.supports_enhance:
            log.warning("stored setting enhance=true needs the inswapper engine; off on '%s'", session.engine.name)
            settings = settings.updated({"enhance": False})
        session.settings = settings


class SourcesPart:
    kind = "sources"
    field = "sources"

    def owns(self, field: str) -> bool:
        return field == self.field

    def fields(self, value: object) -> dict[str, bytes | None]:
        if value is None:
            return {self.field: None}
        if not isinstance(value, SourceUpload):
            raise TypeError(f"sources change must be a SourceUpload, got {type(value).__name__}")
        return {self.field: encode_sources(value)}

    def restore(self, session: SwapSession, fields: Mapping[str, bytes]) -> None:
        blob = fields.get(self.field)
        session.use_prepared(decode_sources(blob, session) if blob else ())


def bounded_jpeg(image: Frame) -> np.ndarray:
    """The image at most STORED_IMAGE_SIDE px on its longest side, as JPEG bytes."""
    scale = STORED_IMAGE_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return encode_jpeg(image, STORED_IMAGE_QUALITY)


def stored_images(images: Sequence[Frame]) -> dict[str, np.ndarray]:
    return {f"image{index}": bounded_jpeg(image) for index, image in enumerate(images)}


def kept_images(manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> list[Frame]:
    return [cv2.imdecode(arrays[f"image{index}"], cv2.IMREAD_COLOR) for index in range(manifest["images"])]


def made_here(node: Any, arrays: Mapping[str, np.ndarray], session: SwapSession) -> Any | None:
    """The stored value if every prepared source in it comes from this engine's module, else None."""
    try:
        value = read_node(node, arrays)
    except (BadStoredData, TypeError, KeyError) as exc:  # TypeError: a class's fields changed since
        log.info("stored prepared form unusable here (%s); preparing the kept images again", exc)
        return None
    sources = value if isinstance(value, tuple) else getattr(value, "sources", ())
    here = type(session.engine).__module__
    if sources and all(isinstance(s, SourceFace) and type(s).__module__ == here for s in sources):
        return value
    return None


def encode_sources(upload: SourceUpload) -> bytes:
    writer = TreeWriter()
    prepared = writer.node(tuple(upload.prepared))
    return pack({"prepared": prepared, "images": len(upload.images)}, writer.arrays | stored_images(upload.images))


def decode_sources(blob: bytes, session: SwapSession) -> list[SourceFace]:
    """The stored prepared form when this engine made it, else the kept images prepared again."""
    manifest, arrays = unpack(blob)
    prepared = made_here(manifest["prepared"], arrays, session)
    if prepared is not None:
        return list(prepared)
    images = kept_images(manifest, arrays)
    again = []
    for index, image in enumerate(images, start=1):
        try:
            again.append(session.engine.prepare_source(image))
        except PlasticVisionError as exc:
            log.warning("stored source image %d of %d: %s", index, len(images), exc)
    return again


class FaceMapPart:
    """Named identities, one field each (prepared form + kept photos), and the map of people in one
    small field (who maps to whom, and the identities' order), so mapping a face rewrites no photos."""

    kind = "face_map"
    field = "face_map"
    prefix = "identity."

    def owns(self, field: str) -> bool:
        return field == self.field or field.startswith(self.prefix)

    def fields(self, value: object) -> dict[str, bytes | None]:
        if not isinstance(value, FaceMapChange):
            raise TypeError(f"face-map change must be a FaceMapChange, got {type(value).__name__}")
        state = value.state
        writer = TreeWriter()
        people = writer.node(state.people)
        fields: dict[str, bytes | None] = {
            self.field: pack({"identities": [i.name for i in state.identities], "people": people}, writer.arrays)
        }
        for name, images in value.images.items():
            fields[self.prefix + name] = None if images is None else encode_identity(state.identity(name), images)
        return fields

    def restore(self, session: SwapSession, fields: Mapping[str, bytes]) -> None:
        blob = fields.get(self.field)
        if not blob:
            session.face_map.restore(FaceMapState())
            return
        manifest, arrays = unpack(blob)
        identities, foreign = [], False
        for name in manifest["identities"]:
            data = fields.get(self.prefix + name)
            identity, here = decode_identity(data, session) if data else (None, False)
            foreign |= not here
            if identity is not None:
                identities.append(identity)
        people = () if foreign else read_node(manifest["people"], arrays)
        if foreign and manifest["people"]["items"]:
            log.warning("face map dropped: its people were recognised by another engine; map them again")
        names = {identity.name for identity in identities}
        session.face_map.restore(FaceMapState(tuple(identities), tuple(p for p in people if p.identity in names)))


def encode_identity(identity: Identity, images: Sequence[Frame]) -> bytes:
    writer = TreeWriter()
    node = writer.node(identity)
    return pack({"identity": node, "name": identity.name, "images": len(images)}, writer.arrays | stored_images(images))


def decode_identity(blob: bytes, session: SwapSession) -> tuple[Identity | None, bool]:
    """The identity, and whether it is this engine's stored form (else prepared again from its photos)."""
    manifest, arrays = unpack(blob)
    identity = made_here(manifest["identity"], arrays, session)
    if identity is not None:
        return identity, True
    try:
        return prepare_identity(session.engine, manifest["name"], kept_images(manifest, arrays)), False
    except PlasticVisionError as exc:
        log.warning("stored identity %r cannot be prepared again: %s", manifest["name"], exc)
        return None, False


PARTS: tuple[SessionPart, ...] = (SettingsPart(), SourcesPart(), FaceMapPart())
