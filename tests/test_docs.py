"""The documentation site builds with `mkdocs build --strict` (a broken link, anchor or nav entry
fails), its HTTP API page lists every operation of the server's own OpenAPI document, and the
README stays a page whose links all lead somewhere."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.optional_parts import need_module

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_module("mkdocs", "docs")
    need_module("material", "docs")
    need_module("mkdocstrings_handlers.python", "docs")
    site_dir = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    assert "WARNING" not in built.stderr, built.stderr[-4000:]
    return site_dir


def test_the_site_builds_strict_with_every_page(site: Path) -> None:
    pages = sorted(path.stem for path in (ROOT / "docs").glob("*.md"))
    missing = [page for page in pages if page != "index" and not (site / page / "index.html").is_file()]
    assert not missing, missing


def test_the_http_api_page_shows_every_operation_of_the_servers_document(site: Path) -> None:
    document = json.loads((site / "openapi.json").read_text())
    page = (site / "http-api" / "index.html").read_text()
    operations = [(method.upper(), path) for path, item in document["paths"].items() for method in item]
    assert len(operations) >= 14
    absent = [f"{method} {path}" for method, path in operations if f"{method} {path}" not in page]
    assert not absent, absent


def test_the_python_api_page_is_generated_from_docstrings(site: Path) -> None:
    page = (site / "python-api" / "index.html").read_text()
    for name in ("FaceSwapper.swap", "LiveStream.swap", "Settings", "client.StreamClient", "errors.NoFaceFound"):
        assert f'id="plasticvision.{name}"' in page, name


def test_the_readme_is_a_page_whose_links_lead_somewhere() -> None:
    readme = (ROOT / "README.md").read_text()
    lines = readme.count("\n")
    assert 150 <= lines <= 250, f"README.md has {lines} lines; the docs site holds the rest"
    targets = [target for target in LINK.findall(readme) if "://" not in target]
    assert targets, "the README should link to the docs pages"
    broken = [target for target in targets if not (ROOT / target).exists()]
    assert not broken, broken


def test_the_readme_model_table_names_every_catalog_model() -> None:
    """Issue 21: the README lists every model with its role, size, checksum kind and licence."""
    from plasticvision.models.catalog import CATALOG

    rows = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `")]
    missing = [spec.name for spec in CATALOG if not any(f"`{spec.name}`" in row and row.count("|") == 6 for row in rows)]
    assert not missing, f"README's model table lacks {missing}"
