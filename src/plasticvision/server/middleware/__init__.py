"""ASGI middleware and request guards: body limits, rate limits, request logs, API keys and CORS, JSON logs."""
