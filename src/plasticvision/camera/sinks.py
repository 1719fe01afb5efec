"""Frame sinks: a virtual camera other programs can pick, a preview window, an MP4 file, or nothing.

Each opens in its constructor, so a missing device or an unwritable path fails before the
engine loads or the server is contacted, with one line saying what to install or run.
"""

from __future__ import annotations

import os
import platform
from fractions import Fraction
from pathlib import Path

import av.error
import cv2
import numpy as np

from plasticvision.camera.frames import CameraFrame
from plasticvision.camera.sources import fit
from plasticvision.errors import DeviceUnavailable, OutputNotWritable
from plasticvision.video.metadata import append_xmp
from plasticvision.video.process import temporary_path
from plasticvision.video.reader import VideoInfo, describe
from plasticvision.video.writer import VideoWriter

FILE_TIME_BASE = Fraction(1, 1000)  # frames keep their capture times to the millisecond
WINDOW_TITLE = "PlasticVision (q or Esc closes)"
CLOSE_KEYS = {ord("q"), 27}

VIRTUAL_CAMERA_HELP = {
    "Linux": "load v4l2loopback: sudo modprobe v4l2loopback exclusive_caps=1 card_label=PlasticVision "
    "(Debian/Ubuntu: sudo apt install v4l2loopback-dkms)",
    "Windows": "install OBS Studio and start its virtual camera once (Start Virtual Camera, then Stop)",
    "Darwin": "install OBS Studio and start its virtual camera once (Start Virtual Camera, then Stop)",
}


class NullSink:
    """`--output none`: swap and measure only."""

    name = "none"
    stopped = False

    def write(self, frame: CameraFrame) -> None:
        pass

    def close(self) -> None:
        pass

    abort = close


class VirtualCameraSink:
    """A pyvirtualcam device: v4l2loopback on Linux, OBS Virtual Camera on Windows and macOS."""

    stopped = False

    def __init__(self, size: tuple[int, int], fps: float, device: str | None = None) -> None:
        try:
            import pyvirtualcam
        except ImportError:
            raise DeviceUnavailable(
                "--output virtual needs pyvirtualcam: pip install 'plasticvision[camera]'"
            ) from None
        self.size = size
        try:
            self.camera = pyvirtualcam.Camera(size[0], size[1], fps, fmt=pyvirtualcam.PixelFormat.BGR, device=device)
        except RuntimeError as exc:
            help_text = VIRTUAL_CAMERA_HELP.get(platform.system(), "see pyvirtualcam's documentation")
            found = f" {device}" if device else ""
            raise DeviceUnavailable(
                f"no virtual camera{found} to write to ({first_sentence(exc)}); {help_text}"
            ) from None
        self.name = f"virtual camera {self.camera.device}"

    def write(self, frame: CameraFrame) -> None:
        self.camera.send(np.ascontiguousarray(fit(frame.image, self.size)))

    def close(self) -> None:
        self.camera.close()

    abort = close


class WindowSink:
    """An OpenCV window; `q`, Esc or closing it stops the stream."""

    name = "window"

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self._closed = False
        try:
            cv2.namedWindow(WINDOW_TITLE, cv2.WINDOW_AUTOSIZE)
        except cv2.error:
            raise DeviceUnavailable(
                "--output window needs a display and OpenCV with a GUI (pip uninstall -y "
                "opencv-python-headless && pip install opencv-python); or use --output virtual"
            ) from None

    @property
    def stopped(self) -> bool:
        return self._closed

    def write(self, frame: CameraFrame) -> None:
        cv2.imshow(WINDOW_TITLE, fit(frame.image, self.size))
        key = cv2.waitKey(1) & 0xFF
        if key in CLOSE_KEYS or cv2.getWindowProperty(WINDOW_TITLE, cv2.WND_PROP_VISIBLE) < 1:
            self._closed = True

    def close(self) -> None:
        cv2.destroyWindow(WINDOW_TITLE)

    abort = close


class FileSink:
    """An H.264 MP4 labelled synthetic, written to a hidden temp file and renamed into place on close."""

    stopped = False

    def __init__(self, path: str | Path, size: tuple[int, int], fps: float) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() != ".mp4":
            raise OutputNotWritable(f"--output {path}: the file must end in .mp4 (or use virtual, window or none)")
        if not self.path.parent.is_dir():
            raise OutputNotWritable(f"cannot write {path}: the folder {self.path.parent} does not exist")
        self.size = size
        self.name = str(self.path)
        self.temp = temporary_path(self.path, None)
        info = VideoInfo(size[0], size[1], Fraction(fps).limit_denominator(1001), 0, 0.0, 0, "h264", None)
        try:
            self.writer = VideoWriter(self.temp, info, FILE_TIME_BASE)
        except (OSError, av.error.FFmpegError) as exc:
            self.temp.unlink(missing_ok=True)
            raise OutputNotWritable(f"cannot write {path}: {describe(exc)}") from None

    def write(self, frame: CameraFrame) -> None:
        pts = int(round(frame.time_s / FILE_TIME_BASE))
        self.writer.write(fit(frame.image, self.size), pts, FILE_TIME_BASE)

    def close(self) -> None:
        try:
            self.writer.close()
            append_xmp(self.temp)
            os.replace(self.temp, self.path)
        except BaseException:
            self.temp.unlink(missing_ok=True)
            raise

    def abort(self) -> None:
        self.writer.abort()
        self.temp.unlink(missing_ok=True)


def first_sentence(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.split(". ")[0].rstrip(".")


def open_sink(spec: str, size: tuple[int, int], fps: float, *, device: str | None = None):
    """`virtual`, `window`, `none` or a path ending in .mp4."""
    if spec == "virtual":
        return VirtualCameraSink(size, fps, device)
    if spec == "window":
        return WindowSink(size)
    if spec == "none":
        return NullSink()
    return FileSink(spec, size, fps)
