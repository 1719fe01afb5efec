"""ASGI middleware and request guards: the gate (API key, body size and pace on the headers), Host checks,
rate limits, request logs, CORS, JSON logs and their redaction."""
