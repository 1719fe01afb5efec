"""Bytes for a session store: frozen dataclasses of numpy arrays (an engine's prepared sources) and JPEGs.

The container is an `.npz` archive read with `allow_pickle=False`: a JSON manifest says how the
arrays nest into dataclasses, and only the types named in `KNOWN_TYPES` are rebuilt, so bytes
from a shared Redis can never run code or import modules of their choosing. Images inside a
prepared form (the dlib engine keeps its source crop, upscaled to a 320 px face) are stored as
JPEG at quality 95: a sixteenth of the raw size and a sixth of PNG's, at under one grey level
of mean difference, which no swap shows.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import zipfile
from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from plasticvision.errors import PlasticVisionError

FORMAT = 1
PICTURE_QUALITY = 95
KNOWN_TYPES = {  # name in the manifest -> "module:class", imported only when a blob names it
    "Face": "plasticvision.types:Face",
    "DlibSource": "plasticvision.engines.dlib.engine:DlibSource",
    "InswapperSource": "plasticvision.engines.inswapper.engine:InswapperSource",
    "Identity": "plasticvision.pipeline.identities:Identity",
    "MappedPerson": "plasticvision.pipeline.facemap:MappedPerson",
}


class BadStoredData(PlasticVisionError):
    """A stored blob this version cannot read (another format, a type it does not know)."""

    type = "server_error"


def pack(manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> bytes:
    """One archive: the manifest as JSON plus the named arrays, uncompressed (JPEGs and floats don't shrink)."""
    buffer = io.BytesIO()
    header = np.frombuffer(json.dumps({"format": FORMAT, **manifest}).encode(), np.uint8)
    np.savez(buffer, manifest=header, **arrays)
    return buffer.getvalue()


def unpack(blob: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The manifest and arrays of `pack`; raises BadStoredData for anything else."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        manifest = json.loads(arrays.pop("manifest").tobytes())
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
        raise BadStoredData(f"not a stored session blob: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BadStoredData(f"stored session format {manifest.get('format')!r}; this version reads {FORMAT}")
    return manifest, arrays


class TreeWriter:
    """Turns dataclass trees into JSON-able nodes, collecting their arrays under fresh names."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def node(self, value: Any) -> Any:
        if isinstance(value, np.ndarray):
            name = f"a{len(self.arrays)}"
            if is_picture(value):
                self.arrays[name] = encode_jpeg(value[:, :, :3], PICTURE_QUALITY)
                if value.shape[2] == 3:
                    return {"jpeg": name}
                alpha = f"a{len(self.arrays)}"  # a mask (which pixels count): kept exactly, as PNG
                self.arrays[alpha] = encode_png(value[:, :, 3])
                return {"jpeg": name, "alpha": alpha}
            self.arrays[name] = value
            return {"array": name}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            kind = type(value).__name__
            if kind not in KNOWN_TYPES:
                raise BadStoredData(f"{kind} cannot be stored: add it to sessions.codec.KNOWN_TYPES")
            fields = {f.name: self.node(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return {"type": kind, "fields": fields}
        if isinstance(value, (tuple, list)):
            return {"items": [self.node(item) for item in value]}
        if isinstance(value, bytes):
            name = f"a{len(self.arrays)}"
            self.arrays[name] = np.frombuffer(value, np.uint8)
            return {"bytes": name}
        if isinstance(value, np.generic):
            return value.item()
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise BadStoredData(f"a {type(value).__name__} cannot be stored in a session")


def read_node(node: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    """The value `TreeWriter.node` described, rebuilt from the known types only."""
    if isinstance(node, dict) and "array" in node:
        return arrays[node["array"]]
    if isinstance(node, dict) and "items" in node:
        return tuple(read_node(item, arrays) for item in node["items"])
    if isinstance(node, dict) and "bytes" in node:
        return arrays[node["bytes"]].tobytes()
    if isinstance(node, dict) and "jpeg" in node:
        picture = cv2.imdecode(arrays[node["jpeg"]], cv2.IMREAD_COLOR)
        alpha = cv2.imdecode(arrays[node["alpha"]], cv2.IMREAD_GRAYSCALE) if "alpha" in node else None
        if picture is None or ("alpha" in node and (alpha is None or alpha.shape != picture.shape[:2])):
            raise BadStoredData("a stored picture does not decode")
        return picture if alpha is None else np.dstack([picture, alpha])
    if isinstance(node, dict) and "type" in node:
        path = KNOWN_TYPES.get(node["type"])
        if path is None:
            raise BadStoredData(f"unknown stored type {node['type']!r}")
        module, name = path.split(":")
        cls = getattr(importlib.import_module(module), name)
        return cls(**{key: read_node(value, arrays) for key, value in node["fields"].items()})
    return node


def is_picture(array: np.ndarray) -> bool:
    """A BGR or BGRA image big enough for JPEG to pay."""
    return array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] in (3, 4) and array.shape[0] * array.shape[1] >= 4096


def encode_jpeg(picture: np.ndarray, quality: int) -> np.ndarray:
    """JPEG bytes as a flat uint8 array, the form the archive stores."""
    return encoded(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, quality])


def encode_png(mask: np.ndarray) -> np.ndarray:
    """Lossless PNG bytes of a one-channel mask, as a flat uint8 array."""
    return encoded(".png", mask, [])


def encoded(extension: str, picture: np.ndarray, params: list[int]) -> np.ndarray:
    ok, data = cv2.imencode(extension, picture, params)
    if not ok:
        raise BadStoredData(f"could not encode a {extension} picture for the session store")
    return data.reshape(-1)
