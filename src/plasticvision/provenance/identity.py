"""This install's provenance identity: its folder, its watermark id, and the operator's signing settings.

Everything is read from `PLASTICVISION_*` variables, so the server, the CLI and the camera
command mark their outputs the same way without passing settings around:
`PLASTICVISION_DATA_DIR` (the install's folder), `PLASTICVISION_C2PA_CERT` and
`PLASTICVISION_C2PA_KEY` (PEM files of the operator's certificate chain and key),
`PLASTICVISION_C2PA_SIGNER` (`module:function`, a KMS-style hook) and
`PLASTICVISION_C2PA_TSA_URL` (an RFC 3161 time-stamp authority).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from functools import lru_cache

from platformdirs import user_data_path

from plasticvision.provenance.watermark import Watermarker

INSTALL_ID_BITS = 24


def provenance_dir() -> Path:
    """Where the install's id and self-signed certificate live (created on first use)."""
    root = os.environ.get("PLASTICVISION_DATA_DIR")
    folder = (Path(root) if root else user_data_path("plasticvision")) / "provenance"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def install_id() -> int:
    """A random 24-bit number made on first run and kept: the watermark's payload names the install.

    It identifies an install, not a person; it lets an operator tell their own outputs apart.
    """
    path = provenance_dir() / "install-id"
    try:
        with open(path, "x") as handle:  # exclusive: two processes starting at once agree on one id
            handle.write(f"{secrets.randbits(INSTALL_ID_BITS):06x}\n")
    except FileExistsError:
        pass
    try:
        return int(path.read_text().strip(), 16) & ((1 << INSTALL_ID_BITS) - 1)
    except ValueError as exc:
        raise ValueError(f"{path} does not hold a hexadecimal install id; delete it to make a new one") from exc


@lru_cache(maxsize=1)
def install_watermarker() -> Watermarker:
    """The watermarker carrying this install's id (one per process; it is immutable)."""
    return Watermarker(install_id())
