"""Job failures the client can act on, each with its HTTP status (mapped by the server's one handler)."""

from __future__ import annotations

from plasticvision.errors import PlasticVisionError


class JobNotFound(PlasticVisionError):
    type = "unknown_job"


class JobExists(PlasticVisionError):
    type = "job_exists"


class BadJobId(PlasticVisionError):
    type = "bad_job_id"


class JobNotReady(PlasticVisionError):
    """The result of a job that has not finished (or did not succeed)."""

    type = "job_not_ready"
