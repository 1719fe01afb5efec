"""Pure ASGI layers that decide on headers alone, before the app or any body byte: Host, API key, body size and pace."""
