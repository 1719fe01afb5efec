"""Secrets never reach a log line: query values such as `api_key=`, key headers, and the configured secrets.

uvicorn logs whole request lines (`WebSocket /ws/stream?session=...&api_key=...` in its error
log, SSE URLs in the access log), and so might any library. Rather than trust every logger, the
redaction sits in the log-record factory: every record, from any logger and for any handler or
format, has its message and string arguments cleaned when it is made. Session ids are bearer
secrets too; they become the same short hash the request log uses.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from plasticvision.server.sessions.ids import log_name

MASK = "[redacted]"
SECRET_PARAMS = re.compile(
    r"(?i)\b(api_key|apikey|key|token|access_token|metrics_token|secret|password|auth)=([^&\s\"'#]+)"
)
SESSION_PARAM = re.compile(r"(?i)\b(session|session_id)=([^&\s\"'#]+)")
SECRET_HEADERS = re.compile(r"(?i)\b(x-api-key|authorization|x-session-id)(['\"]?\s*[:=,]\s*['\"]?)([^\s'\",;]+(?: [^\s'\",;]+)?)")


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)  # longest first: no partial leaks

    def __call__(self, text: str) -> str:
        text = SECRET_PARAMS.sub(lambda m: f"{m[1]}={MASK}", text)
        text = SESSION_PARAM.sub(lambda m: f"{m[1]}={log_name(m[2])}", text)
        text = SECRET_HEADERS.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def clean(self, value: object) -> object:
        return self(value) if isinstance(value, str) else value

    def clean_record(self, record: logging.LogRecord) -> None:
        record.msg = self.clean(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self.clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {name: self.clean(arg) for name, arg in record.args.items()}


def install_redaction(secrets: Iterable[str | None] = ()) -> Callable[..., logging.LogRecord]:
    """Clean every log record this process makes from now on; returns the factory it wrapped."""
    redactor = Redactor(secrets)
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redactor.clean_record(record)
        return record

    logging.setLogRecordFactory(factory)
    return previous
