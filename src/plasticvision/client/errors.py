"""What can go wrong talking to a server, as typed failures with one-line messages (the CLI prints them)."""

from __future__ import annotations

from plasticvision.errors import PlasticVisionError


class ClientError(PlasticVisionError):
    """Base class for the client's failures."""


class ServerUnreachable(ClientError):
    """Nothing answers at the URL (refused, timed out, DNS)."""

    status_code = 503


class ApiKeyRefused(ClientError):
    """The server wants an API key (401) or refused the one given (403)."""

    status_code = 401


class BadSession(ClientError):
    """The session id is malformed, or the server has no room for another session or stream."""

    status_code = 422


class ServerRefused(ClientError):
    """Any other refusal; `status` is the HTTP status or WebSocket close code."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class StreamClosed(ClientError):
    """The live stream ended: the server closed it (with its reason) or the connection broke."""

    status_code = 503
