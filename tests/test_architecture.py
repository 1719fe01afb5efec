"""The import contracts in pyproject.toml (`[tool.importlinter]`): layers that run one way, no cycle
between sibling packages or modules, and Ray, Redis and aiortc each kept inside their one module.

A new upward import (say `plasticvision.engines` importing `plasticvision.pipeline`) breaks a
contract and fails this test; the output names the offending import chain.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_imports_keep_the_layers_and_contracts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0
