"""The FastAPI server: a thin shell of routing, sessions, limits and security over `FaceSwapper`."""

from plasticvision.server.app import create_app

__all__ = ["create_app"]
