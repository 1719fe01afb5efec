"""Content Credentials (C2PA) for the files we write: a signed manifest saying what made them.

The manifest records `c2pa.opened` (the target, `parentOf`) and `c2pa.edited` with the IPTC
digital source type for an AI composite, the software agent, and the ingredients as SHA-256
hashes only: `add_ingredient` gets an empty stream and thumbnails are off, so no source face
pixels ever travel inside an output. Signing must be the very last write to a file: any byte
added afterwards (an XMP box, a PNG text chunk) breaks the manifest's hash.

Who signs: the operator's certificate chain and key (`PLASTICVISION_C2PA_CERT`/`_KEY`), or a
hook `PLASTICVISION_C2PA_SIGNER=module:function` returning (certificate chain PEM, a
`sign(bytes) -> bytes` callback) for keys kept in a KMS/HSM; without either, a per-install
self-signed certificate that verifiers report as untrusted.
"""

from __future__ import annotations

import hashlib
import importlib
from importlib import metadata
import io
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import numpy as np

try:  # the `provenance` extra (c2pa-python, which brings `cryptography`)
    import c2pa

    from plasticvision.provenance.certificates import self_signed_pair
except ImportError:  # pragma: no cover - exercised only without the extra
    c2pa = None

from plasticvision.errors import PlasticVisionError
from plasticvision.provenance.identity import install_id, provenance_dir

log = logging.getLogger(__name__)
try:
    VERSION = metadata.version("plasticvision")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    VERSION = "unknown"

COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
MIME_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".mp4": "video/mp4"}
SignCallback = Callable[[bytes], bytes]


class SigningUnavailable(PlasticVisionError):
    """The operator's signing settings are unusable (missing file, bad hook); says which and why."""

    type = "signing_unavailable"  # the server's configuration, not the request, is wrong


@dataclass(frozen=True)
class Ingredient:
    """An input of a swap, recorded by its hash only (never its pixels)."""

    title: str
    mime: str
    sha256: str

    @classmethod
    def of(cls, title: str, data: bytes, mime: str = "image/jpeg") -> Ingredient:
        return cls(title, mime, hashlib.sha256(data).hexdigest())

    @classmethod
    def of_frame(cls, title: str, frame: np.ndarray) -> Ingredient:
        """The hash of decoded pixels (shape, then BGR bytes): the same picture hashes the same in any container."""
        digest = hashlib.sha256(repr(frame.shape).encode())
        digest.update(np.ascontiguousarray(frame).data)
        return cls(title, "image/x-raw-bgr", digest.hexdigest())


def available() -> bool:
    """Whether c2pa-python (the `provenance` extra) is installed."""
    return c2pa is not None


def signable(path: str | Path) -> bool:
    return Path(path).suffix.lower() in MIME_TYPES


@dataclass(frozen=True)
class SignerSpec:
    """What signs: a PEM chain plus a key or a callback, and whether the chain is our own self-signed one."""

    chain_pem: bytes
    key_pem: bytes | None = None
    callback: SignCallback | None = None
    self_signed: bool = False
    tsa_url: str | None = None

    def signer(self) -> c2pa.Signer:
        if self.callback is not None:
            return c2pa.Signer.from_callback(self.callback, c2pa.C2paSigningAlg.ES256, self.chain_pem.decode(), self.tsa_url)
        info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, self.chain_pem, self.key_pem, self.tsa_url)
        return c2pa.Signer.from_info(info)


@lru_cache(maxsize=1)
def install_signer() -> SignerSpec:
    """This install's signer, from the environment (read once per process)."""
    tsa = os.environ.get("PLASTICVISION_C2PA_TSA_URL") or None
    hook = os.environ.get("PLASTICVISION_C2PA_SIGNER")
    if hook:
        chain, callback = _load_hook(hook)()
        return SignerSpec(chain, callback=callback, tsa_url=tsa)
    cert, key = os.environ.get("PLASTICVISION_C2PA_CERT"), os.environ.get("PLASTICVISION_C2PA_KEY")
    if cert or key:
        if not (cert and key):
            raise SigningUnavailable("set both PLASTICVISION_C2PA_CERT and PLASTICVISION_C2PA_KEY (PEM files)")
        try:
            return SignerSpec(Path(cert).read_bytes(), Path(key).read_bytes(), tsa_url=tsa)
        except OSError as exc:
            raise SigningUnavailable(f"cannot read the C2PA certificate or key: {exc}") from exc
    chain, key_pem = self_signed_pair(provenance_dir(), f"PlasticVision install {install_id():06x}")
    log.info("signing Content Credentials with this install's self-signed certificate (untrusted)")
    return SignerSpec(chain, key_pem, self_signed=True, tsa_url=tsa)


def _load_hook(spec: str) -> Callable[[], tuple[bytes, SignCallback]]:
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise SigningUnavailable(f"PLASTICVISION_C2PA_SIGNER={spec!r}: {exc}") from exc


def manifest(title: str, target: Ingredient | None, sources: Sequence[Ingredient], source_type: str) -> dict:
    """The manifest definition: opened target (when known), then the AI edit with its inputs."""
    actions: list[dict] = []
    edit = {
        "action": "c2pa.edited" if target else "c2pa.created",
        "digitalSourceType": source_type,
        "softwareAgent": {"name": "PlasticVision", "version": VERSION},
        "description": "faces replaced by an AI face swap",
        "parameters": {"ingredientIds": [f"source-{i}" for i in range(len(sources))]},
    }
    if target:
        actions.append({"action": "c2pa.opened", "parameters": {"ingredientIds": ["target"]}})
    actions.append(edit)
    return {
        "claim_generator_info": [{"name": "PlasticVision", "version": VERSION}],
        "title": title,
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": actions}}],
    }


def sign_bytes(
    data: bytes,
    mime: str,
    *,
    title: str = "output",
    target: Ingredient | None = None,
    sources: Sequence[Ingredient] = (),
    source_type: str | None = None,
    spec: SignerSpec | None = None,
) -> bytes:
    """`data` with a signed manifest embedded (the last change a file may get)."""
    out = io.BytesIO()
    _sign(io.BytesIO(data), out, mime, title, target, sources, source_type, spec)
    return out.getvalue()


def sign_file(
    path: str | Path,
    *,
    mime: str | None = None,
    target: Ingredient | None = None,
    sources: Sequence[Ingredient] = (),
    source_type: str | None = None,
    spec: SignerSpec | None = None,
) -> None:
    """Sign a finished file in place (through a temporary file beside it, so a failure leaves it whole).

    `mime` defaults to the one the file's extension names (a temporary file's may not)."""
    path = Path(path)
    mime = mime or mime_type(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".c2pa")
    try:
        with open(path, "rb") as source, os.fdopen(fd, "w+b") as dest:
            _sign(source, dest, mime, path.name, target, sources, source_type, spec)
        shutil.copymode(path, temp)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def mime_type(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in MIME_TYPES:
        raise ValueError(f"no Content Credentials for {suffix or 'extension-less'} files; known: {', '.join(MIME_TYPES)}")
    return MIME_TYPES[suffix]


def _sign(
    source: BinaryIO,
    dest: BinaryIO,
    mime: str,
    title: str,
    target: Ingredient | None,
    sources: Sequence[Ingredient],
    source_type: str | None,
    spec: SignerSpec | None,
) -> None:
    if c2pa is None:
        raise SigningUnavailable("Content Credentials need the provenance extra: pip install 'plasticvision[provenance]'")
    spec = spec or install_signer()
    source_type = source_type or (COMPOSITE if target else TRAINED)  # faces changed in a picture, or made whole
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    with c2pa.Builder(manifest(title, target, sources, source_type), context) as builder:
        for label, item, relationship in _ingredients(target, sources):
            definition = {
                "title": item.title,
                "label": label,
                "relationship": relationship,
                "format": item.mime,
                "instance_id": f"sha256:{item.sha256}",
            }
            # an empty stream of an opaque type: the hash only, no pixels, nothing parsed
            builder.add_ingredient(definition, "application/octet-stream", io.BytesIO(b""))
        with spec.signer() as signer:
            builder.sign(signer, mime, source, dest)


def _ingredients(target: Ingredient | None, sources: Sequence[Ingredient]) -> Iterator[tuple[str, Ingredient, str]]:
    if target:
        yield "target", target, "parentOf"
    for index, item in enumerate(sources):
        yield f"source-{index}", item, "inputTo"
