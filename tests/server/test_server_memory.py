"""The malloc arena cap that keeps the server's memory flat (its effect is measured by tests/server/test_soak.py)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from plasticvision.server.memory import limit_malloc_arenas

CHECK = "from plasticvision.server.memory import limit_malloc_arenas as cap; print(cap(2), cap(0))"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc setting")
def test_the_arena_cap_applies_on_glibc_unless_the_environment_sets_one():
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    run = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["True", "False"]
    env["MALLOC_ARENA_MAX"] = "4"
    run = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["False", "False"], "the operator's MALLOC_ARENA_MAX wins"
    assert limit_malloc_arenas(0) is False
