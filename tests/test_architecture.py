"""The import contracts in pyproject.toml (`[tool.importlinter]`): layers that run one way, no cycle
between sibling packages or modules, and Ray, Redis and aiortc each kept inside their one module.

A new upward import (say `plasticvision.engines` importing `plasticvision.pipeline`) breaks a
contract and fails this test; the output names the offending import chain.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def loggers_kept() -> Iterator[None]:
    """import-linter configures logging with `dictConfig`, which disables every logger that exists: give
    them back, or the tests after this one (the JSON request log's) would log nothing."""
    loggers = [logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)]
    enabled = [logger for logger in loggers if not logger.disabled]
    yield
    for logger in enabled:
        logger.disabled = False


def test_imports_keep_the_layers_and_contracts(monkeypatch: pytest.MonkeyPatch, loggers_kept: None) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0
