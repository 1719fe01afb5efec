"""The models dir: where each spec's file lives, whether it is the right file, and fetching it if not.

Layout (relative to the models dir, mirrored by `PLASTICVISION_MODEL_MIRROR`):
`buffalo_l/det_10g.onnx`, `buffalo_l/w600k_r50.onnx`, and every other model under its upstream
file name (`inswapper_128.onnx`, `hyperswap_1a_256.onnx`, `xseg_1.onnx`, ... with FaceFusion's
`.hash` sidecars beside its models). A file placed there by hand is used as long as it matches
the catalog (or checksums are off).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import zlib
from pathlib import Path
from collections.abc import Callable, Iterable
from urllib.error import URLError

from plasticvision.errors import ModelChecksumMismatch, ModelMissing
from plasticvision.models.catalog import ModelSpec
from plasticvision.models.download import TIMEOUT_S, check_reachable, fetch

log = logging.getLogger(__name__)

FETCH_HINT = "fetch them with `plasticvision models download`, or place the files there by hand"


class ModelStore:
    """One models dir with its verification policy and download source."""

    def __init__(
        self, root: str | Path, *, checksums: bool = True, mirror: str | None = None, timeout_s: float = TIMEOUT_S
    ) -> None:
        self.root = Path(root).expanduser()
        self.checksums = checksums
        self.mirror = mirror.rstrip("/") if mirror else None
        self.timeout_s = timeout_s

    def path(self, spec: ModelSpec) -> Path:
        return self.root / spec.file

    def url(self, spec: ModelSpec) -> str:
        return f"{self.mirror}/{spec.file}" if self.mirror else spec.url

    def problem(self, spec: ModelSpec) -> str | None:
        """Why the file cannot be used (missing, wrong size, wrong SHA-256), or None when it can."""
        path = self.path(spec)
        if not path.is_file():
            return "missing" + (" (partly downloaded)" if self._part(spec).exists() else "")
        return self._file_problem(path, spec)

    def missing(self, specs: Iterable[ModelSpec]) -> list[ModelSpec]:
        return [spec for spec in specs if self.problem(spec) is not None]

    def verify(self, spec: ModelSpec) -> Path:
        """The path of a usable file, or a `ModelMissing` saying what is wrong and how to fix it."""
        problem = self.problem(spec)
        if problem is None:
            return self.path(spec)
        if problem.startswith("missing"):
            raise ModelMissing(f"{spec.name} is missing from {self.root} (expected {spec.file}); {FETCH_HINT}")
        raise ModelChecksumMismatch(
            f"{self.path(spec)} {problem}: re-fetch it with `plasticvision models download {spec.name}`, or set "
            "PLASTICVISION_MODEL_CHECKSUMS=off to use a custom or fine-tuned model"
        )

    def require(self, specs: Iterable[ModelSpec]) -> list[Path]:
        """The verified paths of all `specs`, or one error naming every unusable file."""
        errors, paths = [], []
        for spec in specs:
            try:
                paths.append(self.verify(spec))
            except ModelMissing as exc:
                errors.append(exc)
        if errors:
            kind = ModelChecksumMismatch if all(isinstance(e, ModelChecksumMismatch) for e in errors) else ModelMissing
            raise kind("; ".join(str(e) for e in errors))
        return paths

    def ensure(self, spec: ModelSpec, *, progress: bool = True) -> Path:
        """A usable file: the one present, or a fresh download replacing a missing, truncated or wrong one."""
        return self.path(spec) if self.problem(spec) is None else self.download(spec, progress=progress)

    def download(self, spec: ModelSpec, *, progress: bool = True) -> Path:
        """Fetch (resuming a `.part`), verify, and atomically move into place; a bad download is retried once."""
        dest, part, url = self.path(spec), self._part(spec), self.url(spec)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            check_reachable(url, self.timeout_s)
            self._fetch_sidecar(spec)
            for attempt in (1, 2):
                expected = spec.size if self.checksums else None
                fetch(url, part, expected, timeout_s=self.timeout_s, progress=progress, label=spec.name)
                problem = self._file_problem(part, spec)
                if problem is None:
                    break
                part.unlink()  # wrong bytes are never resumed from
                log.warning("download of %s from %s %s (attempt %d of 2)", spec.name, url, problem, attempt)
            else:
                raise ModelChecksumMismatch(f"{spec.name} downloaded from {url} {problem}; the source may be corrupt")
        except (URLError, OSError, http.client.HTTPException) as exc:  # HTTPException: a connection cut mid-body
            reason = getattr(exc, "reason", exc)
            raise ModelMissing(
                f"could not download {spec.name} from {url} ({reason}); retry later (downloads resume), set "
                f"PLASTICVISION_MODEL_MIRROR, or place the file at {dest} by hand"
            ) from exc
        os.replace(part, dest)
        if stamp_of(part).exists():
            os.replace(stamp_of(part), stamp_of(dest))  # a rename keeps size and mtime: the hash stays valid
        log.info("downloaded %s to %s", spec.name, dest)
        return dest

    def _fetch_sidecar(self, spec: ModelSpec) -> None:
        """The CRC32 sidecar of a FaceFusion model, fetched (small, never resumed) before the model itself."""
        if spec.hash_file is None or spec.hash_url is None:
            return
        url = f"{self.mirror}/{spec.hash_file}" if self.mirror else spec.hash_url
        sidecar = self.root / spec.hash_file
        part = sidecar.with_name(sidecar.name + ".part")
        part.unlink(missing_ok=True)
        fetch(url, part, None, timeout_s=self.timeout_s, progress=False, label=sidecar.name)
        os.replace(part, sidecar)

    def _part(self, spec: ModelSpec) -> Path:
        path = self.path(spec)
        return path.with_name(path.name + ".part")

    def _file_problem(self, path: Path, spec: ModelSpec) -> str | None:
        if not self.checksums:
            return None
        size = path.stat().st_size
        if spec.size is not None and size != spec.size:
            return f"is {size} bytes, expected {spec.size} (truncated or a different file)"
        if spec.sha256 is not None:
            digest = sha256_of(path)
            return None if digest == spec.sha256 else f"has SHA-256 {digest[:16]}…, expected {spec.sha256[:16]}…"
        if spec.hash_file is None:
            return None
        return self._sidecar_problem(path, spec)

    def _sidecar_problem(self, path: Path, spec: ModelSpec) -> str | None:
        """FaceFusion's check: the file's CRC32 against `<stem>.hash` beside it (FaceFusion ships both)."""
        sidecar = self.root / spec.hash_file  # type: ignore[operator]
        try:
            expected = sidecar.read_text().strip().lower()
        except OSError:
            return f"has no {sidecar.name} beside it to check against (copy FaceFusion's, or re-fetch both)"
        digest = crc32_of(path)
        return None if digest == expected else f"has CRC32 {digest}, expected {expected} from {sidecar.name}"


def sha256_of(path: Path) -> str:
    """The file's SHA-256 (remembered in a `<file>.sha256` stamp, see `remembered`)."""
    def digest() -> str:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()

    return remembered(path, stamp_of(path), digest)


def crc32_of(path: Path) -> str:
    """FaceFusion's `create_hash`: the CRC32 of the whole file as 8 lower-case hex digits (in a `.crc32` stamp)."""
    def digest() -> str:
        value = 0
        with path.open("rb") as handle:
            while block := handle.read(1 << 24):
                value = zlib.crc32(block, value)
        return format(value, "08x")

    return remembered(path, path.with_name(path.name + ".crc32"), digest)


def remembered(path: Path, stamp: Path, compute: Callable[[], str]) -> str:
    """A digest of `path` remembered in `stamp`, keyed by size and mtime.

    Hashing 1 GB of weights takes seconds; the stamp makes every later start (and `GET /models`)
    free, and any change to the file (size or modification time) invalidates it.
    """
    stat = path.stat()
    key = f"{stat.st_size} {stat.st_mtime_ns}"
    try:
        digest, saved_key = stamp.read_text().split(" ", 1)
        if saved_key.strip() == key:
            return digest
    except (OSError, ValueError):
        pass
    digest = compute()
    try:
        stamp.write_text(f"{digest} {key}\n")
    except OSError:
        pass  # a read-only models dir only costs the re-hash next time
    return digest


def stamp_of(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")
