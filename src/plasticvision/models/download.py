"""Resumable HTTP downloads: Range requests into a `.part` file, a progress bar, and fast failure offline.

The stdlib's urllib is enough (no new dependency). Its socket timeout bounds connecting and each
read, but not name resolution, which can stall for tens of seconds with no network; hence
`check_reachable`, which gives up on a host after a hard deadline.
"""

from __future__ import annotations

import socket
import threading
import urllib.request
from http import HTTPStatus
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from tqdm import tqdm

TIMEOUT_S = 5.0
CHUNK_BYTES = 1 << 20
USER_AGENT = "plasticvision-model-store/1"


def check_reachable(url: str, deadline_s: float = TIMEOUT_S) -> None:
    """Raise `URLError` unless a TCP connection to the URL's host (or its proxy) opens within the deadline."""
    target = urlsplit(url)
    host = target.hostname or ""
    proxy = urllib.request.getproxies().get(target.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        target = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host = target.hostname or ""
    port = target.port or (443 if target.scheme == "https" else 80)
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=deadline_s).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    # A daemon thread: a name lookup stuck past the deadline never keeps the process from exiting.
    worker = threading.Thread(target=connect, name=f"reach-{host}", daemon=True)
    worker.start()
    worker.join(deadline_s)
    if not outcome:
        raise URLError(f"no answer from {host}:{port} within {deadline_s:g} s (no network?)")
    if outcome[0] is not None:
        raise URLError(f"cannot reach {host}:{port}: {outcome[0]}")


def fetch(
    url: str,
    part: Path,
    expected_size: int | None,
    *,
    timeout_s: float = TIMEOUT_S,
    progress: bool = True,
    label: str = "",
) -> None:
    """Bring `part` up to the whole body of `url`, continuing from the bytes already in it.

    A server that ignores the Range header (200 instead of 206) restarts the file from zero; a
    416 on a part of the expected size means it was already complete.
    """
    have = part.stat().st_size if part.exists() else 0
    if expected_size is not None and have > expected_size:
        part.unlink()
        have = 0
    if expected_size is not None and have == expected_size and have > 0:
        return
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s)
    except HTTPError as exc:
        if exc.code == HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE and have:
            if expected_size is None:
                return  # nothing left to send: the part is the whole file
            part.unlink()  # the server's file is shorter than our part: it is stale
            return fetch(url, part, expected_size, timeout_s=timeout_s, progress=progress, label=label)
        raise
    with response:
        resumed = have > 0 and response.status == HTTPStatus.PARTIAL_CONTENT
        start = have if resumed else 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else expected_size
        with part.open("ab" if resumed else "wb") as out, tqdm(
            total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
            desc=label or part.name, disable=not progress, leave=False,
        ) as bar:
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                bar.update(len(chunk))
            received = out.tell()
    if length and length.isdigit() and received < start + int(length):
        # urllib returns a short body silently when the connection drops; keep the part to resume
        raise ConnectionError(f"connection closed after {received} of {start + int(length)} bytes")
