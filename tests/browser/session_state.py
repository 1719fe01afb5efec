"""What the server holds for a page's session, read over plain HTTP (GET /status)."""

from __future__ import annotations

import time

import httpx


def session_status(server_url: str, session_id: str) -> dict:
    response = httpx.get(f"{server_url}/status", headers={"X-Session-Id": session_id})
    response.raise_for_status()
    return response.json()


def wait_for_settings(server_url: str, session_id: str, expected: dict, timeout_s: float = 10) -> dict:
    """The session's settings named in `expected` once they equal it, or as they are when the time is up."""
    deadline = time.monotonic() + timeout_s
    while True:
        every = session_status(server_url, session_id)["settings"]
        settings = {name: every.get(name) for name in expected}
        if settings == expected or time.monotonic() > deadline:
            return settings
        time.sleep(0.1)
