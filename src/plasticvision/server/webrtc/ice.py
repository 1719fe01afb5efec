"""The ICE servers a WebRTC client should use, told the WHIP way: `Link: <turn:...>; rel="ice-server"`.

With `PLASTICVISION_TURN_SECRET` (coturn's `static-auth-secret`) each answer carries short-lived
TURN credentials made from it (coturn's "TURN REST API" scheme: the username is the expiry time,
the password its HMAC-SHA1), so no long-lived TURN password ever reaches a browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from plasticvision.config import ServerConfig

CREDENTIAL_TTL_S = 6 * 3600


def turn_credentials(secret: str, now: float | None = None, ttl_s: int = CREDENTIAL_TTL_S) -> tuple[str, str]:
    """(username, password) that coturn with `use-auth-secret` accepts until `now + ttl_s`."""
    username = str(int((now or time.time()) + ttl_s))
    password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, password


def link_headers(config: ServerConfig) -> list[str]:
    """One `Link` value per configured STUN/TURN URL (RFC 9725 §4.6)."""
    links = []
    for url in config.ice_servers:
        link = f'<{url}>; rel="ice-server"'
        if url.startswith(("turn:", "turns:")) and config.turn_secret:
            username, password = turn_credentials(config.turn_secret)
            link += f'; username="{username}"; credential="{password}"; credential-type="password"'
        links.append(link)
    return links
