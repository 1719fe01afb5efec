"""The Host header must name this server: a DNS-rebinding page reaches a local server under its own name.

An attacker's page at `evil.example` can point its DNS at 127.0.0.1 and then make same-origin
requests to a local key-less server; the browser still sends `Host: evil.example`. So a server
on loopback answers only to local names, and a public one to `PLASTICVISION_ALLOWED_HOSTS`
(any host when unset there: behind a proxy the key is the guard; say so in the deployment).
"""

from __future__ import annotations

import ipaddress

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from plasticvision.config import ServerConfig
from plasticvision.server.errors import error_response

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")
ANY = "*"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(config: ServerConfig) -> frozenset[str]:
    """The names this server answers to (lower case, without port); `*` for any."""
    names = {name.lower() for name in config.allowed_hosts}
    if is_loopback(config.host):
        names.update(LOCAL_NAMES)
        names.add(config.host.lower())
    elif not names:
        names.add(ANY)
    return frozenset(names)


def host_name(host_header: str) -> str:
    """`example.org:8000` -> `example.org`; `[::1]:8000` -> `[::1]`."""
    if host_header.startswith("["):
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def host_allowed(allowed: frozenset[str], host_header: str | None) -> bool:
    if ANY in allowed:
        return True
    name = host_name((host_header or "").strip().lower())
    return name in allowed or (name.startswith("[") and name.strip("[]") in allowed)


class HostCheck:
    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.allowed = allowed_hosts(config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not host_allowed(self.allowed, Headers(scope=scope).get("host")):
            if scope["type"] == "websocket":  # refused before the handshake: the client sees a 403
                await send({"type": "websocket.close", "code": 1008, "reason": "host_not_allowed: host not allowed"})
                return
            await error_response("host_not_allowed", "this server does not answer to that Host name (PLASTICVISION_ALLOWED_HOSTS)")(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)
