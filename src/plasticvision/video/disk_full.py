"""Telling a full disk from other write failures, whichever layer reports it.

FFmpeg (through PyAV) and Python raise an OSError with ENOSPC (no space), EDQUOT (quota)
or EFBIG (a file-size limit); SQLite says "database or disk is full". All mean the same to
a user: free some space and try again.
"""

from __future__ import annotations

import errno

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def is_disk_full(exc: BaseException) -> bool:
    """True when `exc`, or an exception it was raised from, reports a full disk."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "errno", None) in FULL_ERRNOS or "disk is full" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False
