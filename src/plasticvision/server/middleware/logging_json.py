"""`--log-format json`: one JSON object per log line, carrying the request id and session of its request.

The request's identifiers live in a context variable that the request middleware sets, so
every line logged while a request is handled on the event loop carries them without being
passed around. The API key is never logged: it is not a field, and URLs are never logged
whole (a WebSocket's `?api_key=` would leak).
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import datetime, timezone

REQUEST_CONTEXT: ContextVar[dict[str, str] | None] = ContextVar("plasticvision_request", default=None)
FIELDS = ("request_id", "session", "method", "route", "status", "duration_ms")  # `extra=` keys we keep


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(REQUEST_CONTEXT.get() or {})
        line.update({name: getattr(record, name) for name in FIELDS if hasattr(record, name)})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Text (the default) or JSON lines on stderr, for this process's root logger and uvicorn's."""
    if log_format != "json":
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
