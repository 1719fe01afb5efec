"""The three interfaces of the camera command and the frame that travels between them.

A frame carries two times: `captured` (the monotonic clock when it was read, for latency)
and `time_s` (its place in the stream, for the file it may end up in: the camera's clock,
or the video's own timestamps, so dropped frames leave gaps instead of speeding time up).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from plasticvision.types import Frame


@dataclass(frozen=True)
class CameraFrame:
    image: Frame
    captured: float  # time.monotonic() when read
    time_s: float  # seconds since the start of the stream


class FrameSource(Protocol):
    """Where frames come from. A `live` source (a camera) never waits for the swapper: it keeps
    only the newest frame and counts the ones it skipped in `dropped`; a file waits for it."""

    width: int
    height: int
    fps: float
    live: bool

    @property
    def dropped(self) -> int: ...

    def frames(self) -> Iterator[CameraFrame]: ...

    def close(self) -> None: ...


class StreamSwapper(Protocol):
    """Turns frames into swapped frames, possibly later and possibly not all of them."""

    def send(self, frame: CameraFrame, *, wait: bool) -> None:
        """Offer a frame; when the swapper is busy it waits, or (`wait` off) drops the frame."""
        ...

    def ready(self) -> list[CameraFrame]:
        """The swapped frames that have come back since the last call, oldest first; never blocks."""
        ...

    def finish(self) -> list[CameraFrame]:
        """The frames still in flight, once they are back (or given up on)."""
        ...

    @property
    def in_flight(self) -> int: ...

    def describe(self) -> str:
        """Extra words for the status line (e.g. the stream's JPEG quality and size), or ''."""
        ...

    def close(self) -> None: ...


class FrameSink(Protocol):
    """Where swapped frames go; `stopped` turns true when the user closed it (a window)."""

    name: str

    @property
    def stopped(self) -> bool: ...

    def write(self, frame: CameraFrame) -> None: ...

    def close(self) -> None:
        """Finish the output (a file is complete only after this)."""
        ...

    def abort(self) -> None:
        """Give up after a failure: release the device, leave no partial file."""
        ...
