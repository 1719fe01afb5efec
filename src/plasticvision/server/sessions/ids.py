"""Session ids the server issues: 128 random bits and an HMAC tag, so every replica tells its own from invented ones.

The tag is checked without a store round trip, so replicas that share the secret
(`PLASTICVISION_SESSION_SECRET`, or the API key they already share) accept each other's ids,
and an id nobody issued is refused before it can create anything. Ids are never logged: the
logs carry `log_name(id)`, a short hash that still lets one follow a session through them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

NONCE_BYTES = 16  # 128 random bits: unguessable on their own
TAG_BYTES = 12
SEPARATOR = "."
KEY_CONTEXT = b"plasticvision session ids v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SessionIds:
    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, KEY_CONTEXT, hashlib.sha256).digest()

    @classmethod
    def for_server(cls, session_secret: str | None, api_key: str | None) -> SessionIds:
        """The configured secret, else one derived from the API key, else a random one (one replica only)."""
        secret = session_secret or api_key
        return cls(secret.encode() if secret else secrets.token_bytes(32))

    def _tag(self, nonce: str) -> str:
        return _b64(hmac.new(self._key, nonce.encode(), hashlib.sha256).digest()[:TAG_BYTES])

    def mint(self) -> str:
        nonce = _b64(secrets.token_bytes(NONCE_BYTES))
        return f"{nonce}{SEPARATOR}{self._tag(nonce)}"

    def issued(self, session_id: str) -> bool:
        """True only for ids `mint` made with this secret (constant-time tag check)."""
        nonce, separator, tag = session_id.partition(SEPARATOR)
        return bool(separator and nonce) and hmac.compare_digest(tag, self._tag(nonce))


def log_name(session_id: str) -> str:
    """What the logs call a session: 10 hex digits of its hash (the `default` session keeps its name)."""
    if session_id in ("default", "(invalid)"):
        return session_id
    return "s-" + hashlib.sha256(session_id.encode()).hexdigest()[:10]
