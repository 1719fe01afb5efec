"""Keep the server's memory flat under many threads: cap glibc's malloc arenas.

glibc gives threads that allocate at the same time arenas of their own (up to eight per core)
and seldom hands their freed memory back, so with streams, image swaps and video jobs on
different threads the resident size climbs in steps of 10-15 MiB to a high-water mark that it
keeps. Two arenas remove the steps (`bench/soak.py`, 4 clients and a video job every 10 s for
two minutes: +4.5 % with glibc's default, +0.2 % with two, and no slower). It is what
`MALLOC_ARENA_MAX=2` does, set at run time; a `MALLOC_ARENA_MAX` in the environment wins.
"""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter number


def limit_malloc_arenas(count: int) -> bool:
    """Cap the arenas at `count` (0 = leave glibc's default); False where that is not possible (not glibc)."""
    if count <= 0 or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    applied = bool(libc.mallopt(M_ARENA_MAX, count))
    log.debug("malloc arenas capped at %d: %s", count, applied)
    return applied
