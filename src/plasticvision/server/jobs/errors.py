"""Job failures the client can act on, each with its HTTP status (mapped by the server's one handler)."""

from __future__ import annotations

from plasticvision.errors import PlasticVisionError


class JobNotFound(PlasticVisionError):
    status_code = 404


class JobExists(PlasticVisionError):
    status_code = 409


class BadJobId(PlasticVisionError):
    status_code = 422


class JobNotReady(PlasticVisionError):
    """The result of a job that has not finished (or did not succeed)."""

    status_code = 409


class JobFinished(PlasticVisionError):
    """A cancel for a job that has already ended."""

    status_code = 409
