"""The Python client of a PlasticVision server: `StreamClient` (REST: sources, settings, status) and
the live stream it opens (`LiveConnection`), with the typed errors and the replies they hand out.

The wire format both ends share is `plasticvision.protocol`; `pacing` adapts the stream to the link.
"""

from plasticvision.client.connection import LiveConnection
from plasticvision.client.errors import (
    ApiKeyRefused,
    BadSession,
    ClientError,
    ServerRefused,
    ServerUnreachable,
    StreamClosed,
)
from plasticvision.client.stream_client import StreamClient
from plasticvision.client.types import StreamReply, StreamStats

__all__ = [
    "ApiKeyRefused",
    "BadSession",
    "ClientError",
    "LiveConnection",
    "ServerRefused",
    "ServerUnreachable",
    "StreamClient",
    "StreamClosed",
    "StreamReply",
    "StreamStats",
]
