"""Swappers for the camera command: in-process through the tracked-stream API, or a remote server.

Local swapping is synchronous: a frame comes back from `send` already swapped, and a live
camera source drops what arrives meanwhile. Remote swapping keeps several frames in flight
over the stream client, so the network's round trip does not cap the frame rate.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from plasticvision.camera.frames import CameraFrame
from plasticvision.pipeline.stream import LiveStream

if TYPE_CHECKING:  # the client is only imported when a server is used
    from plasticvision.client import LiveConnection

WAIT_STEP_S = 0.02  # how long one wait for a reply lasts while a window of frames is full


class LocalSwapper:
    """Swaps on this machine with a `LiveStream` (faces tracked across frames)."""

    in_flight = 0

    def __init__(self, stream: LiveStream) -> None:
        self.stream = stream
        self._done: list[CameraFrame] = []

    def send(self, frame: CameraFrame, *, wait: bool) -> None:
        self._done.append(replace(frame, image=self.stream.swap(frame.image).frame))

    def ready(self) -> list[CameraFrame]:
        done, self._done = self._done, []
        return done

    finish = ready

    def describe(self) -> str:
        return f"local {self.stream.session.engine.name}"

    def close(self) -> None:
        pass


class RemoteSwapper:
    """Swaps on a server over a live connection (`StreamClient.open_stream()`), frames in flight.

    The connection hands out the newest reply and counts the ones it overtook as dropped; the
    loop counts them too, as frames in that never came out.
    """

    def __init__(self, connection: LiveConnection, *, finish_timeout_s: float = 10.0) -> None:
        self.connection = connection
        self.finish_timeout_s = finish_timeout_s
        self._times: dict[int, float] = {}  # seq -> the frame's place in the stream
        self._done: list[CameraFrame] = []

    @property
    def in_flight(self) -> int:
        return self.connection.stats().in_flight

    def send(self, frame: CameraFrame, *, wait: bool) -> None:
        seq = self.connection.send(frame.image, capture_time=frame.captured)
        deadline = time.monotonic() + self.finish_timeout_s
        while seq is None and wait and time.monotonic() < deadline:
            self._collect(WAIT_STEP_S)
            seq = self.connection.send(frame.image, capture_time=frame.captured)
        if seq is not None:
            self._times[seq] = frame.time_s

    def ready(self) -> list[CameraFrame]:
        self._collect(0)
        done, self._done = self._done, []
        return done

    def finish(self) -> list[CameraFrame]:
        deadline = time.monotonic() + self.finish_timeout_s
        while self.in_flight and time.monotonic() < deadline:
            self._collect(WAIT_STEP_S)
        return self.ready()

    def _collect(self, timeout: float) -> None:
        """Take what has come back (waiting up to `timeout` for the first)."""
        reply = self.connection.receive(timeout=timeout)
        while reply is not None:
            for seq in [seq for seq in self._times if seq < reply.seq]:  # overtaken: they will not come
                del self._times[seq]
            time_s = self._times.pop(reply.seq, 0.0)
            self._done.append(CameraFrame(reply.frame, reply.capture_time, time_s))
            reply = self.connection.receive(timeout=0)

    def describe(self) -> str:
        stats = self.connection.stats()
        text = f"server, JPEG q{stats.jpeg_quality}" + (f" {stats.width}x{stats.height}" if stats.width else "")
        return f"{text}, {stats.message}" if stats.message else text

    def close(self) -> None:
        self.connection.close()
