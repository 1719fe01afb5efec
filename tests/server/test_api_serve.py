"""`plasticvision serve`: flags over environment, and the real command answering on a loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from plasticvision.cli import build_parser
from plasticvision.cli.serve import flag_overrides
from plasticvision.config import ServerConfig

from tests.support.live_uvicorn import free_port


def test_serve_flags_override_the_environment(monkeypatch):
    monkeypatch.setenv("PLASTICVISION_PORT", "9001")
    monkeypatch.setenv("PLASTICVISION_API_KEY", "from-env")
    args = build_parser().parse_args(
        ["serve", "--port", "9002", "--engine", "dlib", "--cors-origins", "http://a.example", "http://b.example"]
    )
    config = ServerConfig(**flag_overrides(args))
    assert config.port == 9002 and config.engine == "dlib"
    assert config.cors_origins == ["http://a.example", "http://b.example"]
    assert config.api_key == "from-env"  # no flag given: the environment decides


@pytest.mark.slow
def test_serve_command_starts_a_working_server_and_says_which_engine(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [Path(sys.executable).with_name("plasticvision"), "serve", "--engine", "dlib", "--port", str(port)],
        env={**os.environ, "PLASTICVISION_DATA_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        assert response.json()["engine"] == "dlib"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert "dlib engine requested" in output


