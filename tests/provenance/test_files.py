"""Content Credentials on what we write, read back with c2pa-python's own Reader (not our code):
swapped PNG (HTTP), JPEG (CLI) and MP4 (CLI video) carry a valid manifest with the AI source type,
signed by the install's self-signed certificate (untrusted); a tampered file reads as tampered."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import c2pa
import pytest
from fastapi.testclient import TestClient

from plasticvision.provenance.credentials import COMPOSITE
from plasticvision.provenance.verify import verify_bytes
from tests.support.video_clips import make_clip

DATA = Path(__file__).parents[1] / "data"
SOURCE = DATA / "Tom_Hanks_54745.png"


def manifest_of(data: bytes, mime: str) -> tuple[str, list[str], dict]:
    """(validation state, failure codes, active manifest) as c2pa-python reports them."""
    with c2pa.Reader(mime, io.BytesIO(data)) as reader:
        results = reader.get_validation_results() or {}
        failures = [item["code"] for item in results.get("activeManifest", {}).get("failure", [])]
        return reader.get_validation_state(), failures, reader.get_active_manifest()


def source_type(manifest: dict) -> str:
    actions = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))["data"]["actions"]
    return next(a["digitalSourceType"] for a in actions if "digitalSourceType" in a)


def assert_valid_synthetic(data: bytes, mime: str) -> dict:
    state, failures, manifest = manifest_of(data, mime)
    assert state == "Valid", failures
    assert failures == ["signingCredential.untrusted"]  # the per-install self-signed certificate
    assert source_type(manifest) == COMPOSITE
    assert manifest["signature_info"]["alg"] == "Es256"
    assert all("thumbnail" not in ingredient for ingredient in manifest.get("ingredients", []))
    return manifest


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plasticvision", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def swapped_png(make_app) -> bytes:
    client = TestClient(make_app())
    files = {"target_file": ("astronaut.png", (DATA / "astronaut.png").read_bytes(), "image/png")}
    sources = [("source_files", ("hanks.png", SOURCE.read_bytes(), "image/png"))]
    response = client.post("/swap-image", files=[*files.items(), *sources])
    assert response.status_code == 200, response.text
    return response.content


def test_a_swapped_png_from_the_server_has_valid_credentials(swapped_png):
    manifest = assert_valid_synthetic(swapped_png, "image/png")
    assert [i["relationship"] for i in manifest["ingredients"]] == ["parentOf"]
    assert manifest["ingredients"][0]["instance_id"].startswith("sha256:")


def test_a_swapped_jpeg_from_the_cli_has_valid_credentials(tmp_path):
    out = tmp_path / "out.jpg"
    result = cli("swap-image", str(DATA / "astronaut.png"), "-s", str(SOURCE), "-o", str(out), "--engine", "dlib")
    assert result.returncode == 0, result.stderr
    manifest = assert_valid_synthetic(out.read_bytes(), "image/jpeg")
    assert sorted(i["relationship"] for i in manifest["ingredients"]) == ["inputTo", "parentOf"]


def test_a_swapped_mp4_from_the_cli_has_valid_credentials(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", size=(320, 240), seconds=0.5, audio=False)
    out = tmp_path / "out.mp4"
    result = cli("swap-video", str(clip), "-s", str(SOURCE), "-o", str(out), "--engine", "dlib")
    assert result.returncode == 0, result.stderr
    assert_valid_synthetic(out.read_bytes(), "video/mp4")


def test_a_tampered_png_reads_as_tampered(swapped_png):
    tampered = bytearray(swapped_png)
    tampered[len(tampered) // 2] ^= 0xFF  # inside the image data
    state, failures, _ = manifest_of(bytes(tampered), "image/png")
    assert state == "Invalid" and "assertion.dataHash.mismatch" in failures
    assert verify_bytes(bytes(tampered)).credentials.state == "tampered"
    assert verify_bytes(swapped_png).credentials.state == "untrusted"
