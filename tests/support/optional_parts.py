"""Optional parts (pip extras, Debian binaries) that some tests need: skip locally, fail on CI.

CI (`CI=true`) installs every extra and binary in `.ci/run`, so a missing one there is a broken
setup, not a reason to skip.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest


def unavailable(reason: str) -> None:
    """Skip with the reason, except on CI where the part must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: .ci/run installs it, so this test must run)")
    pytest.skip(reason)


def need_module(name: str, extra: str) -> None:
    """The Python module `name`, installed by `pip install -e .[extra]`."""
    if importlib.util.find_spec(name) is None:
        unavailable(f"needs the '{extra}' extra: pip install -e .[{extra}]")


def need_binary(name: str, package: str) -> str:
    """The path of a program from Debian's `package` (e.g. redis-server, nginx)."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        unavailable(f"needs {name}: apt-get install {package}")
    return path
