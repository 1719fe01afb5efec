"""Frame sources: a camera through OpenCV (device index, device path or stream URL), or a file.

A camera delivers frames whether or not anyone is ready for them, and OpenCV queues what it
is not asked for, which turns a slow swap into seconds of delay. So a reader thread reads
the camera continuously and keeps only the newest frame; frames replaced before they were
taken count as dropped. A file (MP4, WebM, Y4M, ...) is read with PyAV in order; paced, it
plays at its own frame rate, as a camera would, and skips what the swapper cannot keep up
with; unpaced (writing to a file), every frame is swapped, as fast as it goes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2

from plasticvision.camera.frames import CameraFrame
from plasticvision.errors import DeviceUnavailable
from plasticvision.types import Frame
from plasticvision.video.reader import VideoReader

log = logging.getLogger(__name__)

FIRST_FRAME_TIMEOUT_S = 5.0
CAMERA_STALL_S = 5.0  # no frame for this long from an open camera: it was unplugged or taken


def parse_size(text: str) -> tuple[int, int]:
    """'640x480' -> (640, 480); both sides even, 16 to 4096."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"expected a size like 640x480, got {text!r}") from None
    if not (16 <= width <= 4096 and 16 <= height <= 4096) or width % 2 or height % 2:
        raise ValueError(f"the size must be even numbers from 16 to 4096, got {text}")
    return width, height


def fit(image: Frame, size: tuple[int, int]) -> Frame:
    """The image at exactly `size` (width, height): frames from a camera or server may differ."""
    if (image.shape[1], image.shape[0]) == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if image.shape[1] > size[0] else cv2.INTER_LINEAR)


def is_capture(spec: str) -> bool:
    """A camera (index, /dev path or stream URL) rather than a file PyAV should read."""
    return spec.isdigit() or spec.startswith("/dev/") or "://" in spec


@contextmanager
def quiet_opencv() -> Iterator[None]:
    """OpenCV logs its own warnings on stderr when a camera does not open; ours is the one line."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


class CaptureSource:
    """An OpenCV camera read on its own thread; the newest frame wins."""

    live = True

    def __init__(self, spec: str, size: tuple[int, int] | None, fps: float | None) -> None:
        self.spec = spec
        what = f"camera {spec}"
        with quiet_opencv():
            self.capture = cv2.VideoCapture(int(spec) if spec.isdigit() else spec)
            if not self.capture.isOpened():
                raise DeviceUnavailable(f"{what} could not be opened: it is missing or another program is using it")
            if size is not None:
                self.capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
                self.capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
            if fps is not None:
                self.capture.set(cv2.CAP_PROP_FPS, fps)
            self.started = time.monotonic()
            ok, first = self.capture.read()
        if not ok:
            self.capture.release()
            raise DeviceUnavailable(f"{what} opened but gives no picture: another program may be using it")
        self.size = size or (first.shape[1] // 2 * 2, first.shape[0] // 2 * 2)
        self.width, self.height = self.size
        self.fps = fps or self.capture.get(cv2.CAP_PROP_FPS) or 30.0
        self._latest: CameraFrame | None = self._frame(first)
        self._taken = 0
        self._read = 1
        self._ended: str | None = None
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read_frames, name="camera-read", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        """Frames read from the camera but replaced by a newer one before they were taken."""
        with self._changed:
            return self._read - self._taken - (self._latest is not None)

    def _frame(self, image: Frame) -> CameraFrame:
        now = time.monotonic()
        return CameraFrame(fit(image, self.size), now, now - self.started)

    def _read_frames(self) -> None:
        while not self._stop.is_set():
            ok, image = self.capture.read()
            with self._changed:
                if not ok:
                    self._ended = f"camera {self.spec} stopped giving frames (unplugged, or taken by another program)"
                    self._changed.notify_all()
                    return
                self._read += 1
                self._latest = self._frame(image)
                self._changed.notify_all()

    def frames(self) -> Iterator[CameraFrame]:
        while True:
            with self._changed:
                if not self._changed.wait_for(lambda: self._latest is not None or self._ended, CAMERA_STALL_S):
                    raise DeviceUnavailable(f"camera {self.spec} gave no frame for {CAMERA_STALL_S:.0f} s")
                if self._latest is None:
                    if self.spec.isdigit() or self.spec.startswith("/dev/"):
                        raise DeviceUnavailable(self._ended)
                    return  # a stream URL or capture file that simply ended
                frame, self._latest = self._latest, None
                self._taken += 1
            yield frame

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=CAMERA_STALL_S)
        self.capture.release()


class FileSource:
    """A video or Y4M file in presentation order; `paced` plays it at its own speed, like a camera."""

    def __init__(self, path: str | Path, size: tuple[int, int] | None, *, paced: bool) -> None:
        self.reader = VideoReader(path)
        info = self.reader.info
        self.size = size or (info.width // 2 * 2, info.height // 2 * 2)
        self.width, self.height = self.size
        self.fps = float(info.fps)
        self.live = paced
        self._skipped = 0

    @property
    def dropped(self) -> int:
        return self._skipped

    def frames(self) -> Iterator[CameraFrame]:
        started = time.monotonic()
        first: float | None = None
        interval = 1.0 / self.fps
        for index, timed in enumerate(self.reader.frames()):
            at = float(timed.pts * timed.time_base) if timed.pts is not None else index * interval
            first = at if first is None else first
            at -= first
            if self.live:
                late = time.monotonic() - started - at
                if late > interval:  # the swapper fell behind: skip, as a camera would
                    self._skipped += 1
                    continue
                if late < 0:
                    time.sleep(-late)
            yield CameraFrame(fit(timed.image, self.size), time.monotonic(), at)

    def close(self) -> None:
        self.reader.close()


def open_source(
    spec: str, size: tuple[int, int] | None, fps: float | None, *, paced: bool
) -> CaptureSource | FileSource:
    """A camera for an index, /dev path or URL; otherwise a file, which must exist."""
    if is_capture(spec):
        return CaptureSource(spec, size, fps)
    if not Path(spec).is_file():
        raise DeviceUnavailable(f"--input {spec}: no such file (a camera is a number, e.g. --input 0)")
    return FileSource(spec, size, paced=paced)
