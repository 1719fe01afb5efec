"""What of a session is stored, part by part: each part turns its changes into store fields and back.

A part owns some field names, encodes what the session journals for its `kind`, and restores
a session from its own fields. Settings are one field per setting, so two replicas changing
different settings at once both win; sources are one field (an upload replaces them all),
holding the engine's prepared form and a bounded copy of the images, so a replica running
another engine, or a version whose prepared form changed, prepares them again. A new kind of
session data (a face map, named identities) is one more part in `PARTS`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Protocol

import cv2
import numpy as np
from pydantic import ValidationError

from plasticvision.engines.base import SourceFace
from plasticvision.errors import PlasticVisionError
from plasticvision.pipeline.session import SourceUpload, SwapSession
from plasticvision.server.session_codec import BadStoredData, TreeWriter, encode_jpeg, pack, read_node, unpack
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


PARTS: tuple[SessionPart, ...] = (SettingsPart(), SourcesPart())


def bounded_jpeg(image: Frame) -> np.ndarray:
    """The image at most STORED_IMAGE_SIDE px on its longest side, as JPEG bytes."""
    scale = STORED_IMAGE_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return encode_jpeg(image, STORED_IMAGE_QUALITY)


def encode_sources(upload: SourceUpload) -> bytes:
    writer = TreeWriter()
    prepared = [writer.node(source) for source in upload.prepared]
    images = {f"image{index}": bounded_jpeg(image) for index, image in enumerate(upload.images)}
    return pack({"prepared": prepared, "images": len(images)}, writer.arrays | images)


def decode_sources(blob: bytes, session: SwapSession) -> list[SourceFace]:
    """The stored prepared form when this engine made it, else the kept images prepared again."""
    manifest, arrays = unpack(blob)
    try:
        prepared = [read_node(node, arrays) for node in manifest["prepared"]]
        made_here = all(type(source).__module__ == type(session.engine).__module__ for source in prepared)
        if prepared and made_here and all(isinstance(source, SourceFace) for source in prepared):
            return prepared
    except (BadStoredData, TypeError, KeyError) as exc:  # TypeError: the class's fields changed since
        log.info("stored prepared sources unusable here (%s); preparing the images again", exc)
    images = [cv2.imdecode(arrays[f"image{index}"], cv2.IMREAD_COLOR) for index in range(manifest["images"])]
    again = []
    for index, image in enumerate(images, start=1):
        try:
            again.append(session.engine.prepare_source(image))
        except PlasticVisionError as exc:
            log.warning("stored source image %d of %d: %s", index, len(images), exc)
    return again
