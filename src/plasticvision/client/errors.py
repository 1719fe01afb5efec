"""What can go wrong talking to a server, as typed failures with one-line messages (the CLI prints them).

The server names every refusal with a stable `type` (an HTTP error body's `"type"`, the first word
of a WebSocket close reason: see `plasticvision.server.errors`); `refusal` picks the failure class
by that type, never by the message's words, and each failure keeps the type and status.
"""

from __future__ import annotations

from plasticvision.errors import PlasticVisionError

API_KEY_TYPES = frozenset({"api_key_missing", "api_key_invalid"})
SESSION_TYPES = frozenset(
    {"bad_session", "session_required", "session_not_issued", "too_many_sessions", "too_many_connections", "client_limit_reached"}
)


class ClientError(PlasticVisionError):
    """Base class for the client's failures; `type` is the server's when it refused, and `status` its
    HTTP status or WebSocket close code (None when the server did not answer)."""

    type = "client_error"

    def __init__(self, message: str, *, type: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        if type:
            self.type = type  # type: ignore[misc]  # the instance carries the server's word
        self.status = status


class ServerUnreachable(ClientError):
    """Nothing answers at the URL (refused, timed out, DNS)."""

    type = "server_unreachable"


class ApiKeyRefused(ClientError):
    """The server wants an API key (`api_key_missing`) or refused the one given (`api_key_invalid`)."""


class BadSession(ClientError):
    """The session id is malformed or required, or the server has no room for another session or stream."""


class ServerRefused(ClientError):
    """Any other refusal; `type` says which (e.g. `rate_limited`, `no_face`)."""


class StreamClosed(ClientError):
    """The live stream ended: the server closed it (with its reason) or the connection broke."""

    type = "stream_closed"


def refusal(type_: str, detail: str, status: int, where: str) -> ClientError:
    """The typed failure for a refusal the server named `type_` (answered with `status`)."""
    if type_ in API_KEY_TYPES:
        return ApiKeyRefused(f"{where} refused the API key ({status}): {detail}", type=type_, status=status)
    if type_ in SESSION_TYPES:
        return BadSession(f"{where} refused the session: {detail}", type=type_, status=status)
    return ServerRefused(f"{where} answered {status}: {detail}", type=type_, status=status)


def split_close_reason(reason: str) -> tuple[str, str]:
    """A close reason `type: detail` as its type and detail; a reason without a type is all detail."""
    type_, colon, detail = reason.partition(": ")
    if colon and type_.isidentifier() and type_.islower():
        return type_, detail
    return "", reason
