"""Content Credentials on every output file, or one warning per process saying why not.

The single place outputs get signed: images as bytes (HTTP responses) or files (the CLI,
videos, the camera's recordings). Signing is the last write; whatever metadata a writer adds
(PNG XMP, MP4 tags and XMP box) must be in the file before these are called.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from plasticvision.provenance.credentials import Ingredient, available, sign_bytes, sign_file, signable

log = logging.getLogger(__name__)


def label_bytes(data: bytes, mime: str, target: Ingredient | None = None, sources: Sequence[Ingredient] = ()) -> bytes:
    """`data` signed, or unchanged when c2pa-python is not installed."""
    if not available():
        _warn_unsigned("c2pa-python (the provenance extra) is not installed")
        return data
    return sign_bytes(data, mime, target=target, sources=sources)


def label_file(
    path: str | Path,
    *,
    mime: str | None = None,
    target: Ingredient | None = None,
    sources: Sequence[Ingredient] = (),
) -> bool:
    """Sign a finished output file in place; False (and a warning) when it cannot carry credentials."""
    if not available():
        _warn_unsigned("c2pa-python (the provenance extra) is not installed")
        return False
    if mime is None and not signable(path):
        _warn_unsigned(f"{Path(path).suffix or 'extension-less'} files cannot carry them (use PNG, JPEG, WebP or MP4)")
        return False
    sign_file(path, mime=mime, target=target, sources=sources)
    return True


@lru_cache(maxsize=8)
def _warn_unsigned(reason: str) -> None:
    log.warning("outputs are written without Content Credentials: %s", reason)
