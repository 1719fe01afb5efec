"""How big a video may be: pixels per frame, duration, frames; from its header, then frame by frame.

Checked from the container's header first, so a small file that claims ten hours of 8K is
refused at once (413) instead of tying up a worker for hours; then on every decoded frame
(`check_frame`), since a header may say nothing (a live Matroska has no duration) or lie (a
stream may switch to 4000x3000 half-way). The frame limit follows the duration limit at
`MAX_FPS`, so it also catches a header with an absurd frame count.
"""

from __future__ import annotations

from dataclasses import dataclass

from plasticvision.errors import PlasticVisionError

MAX_FPS = 120


class VideoTooLarge(PlasticVisionError):
    """A video over a configured limit (size, resolution, duration or frame count)."""

    type = "video_too_large"


@dataclass(frozen=True)
class VideoLimits:
    max_pixels: int
    max_duration_s: float

    @property
    def max_frames(self) -> int:
        return int(self.max_duration_s * MAX_FPS)

    def check(self, name: str, width: int, height: int, duration_s: float, frames: int) -> None:
        """Raise VideoTooLarge naming the first limit the declared numbers are over."""
        if width * height > self.max_pixels:
            raise VideoTooLarge(
                f"{name}: {width}x{height} is over the limit of {self.max_pixels:,} pixels per frame "
                "(PLASTICVISION_MAX_VIDEO_PIXELS)"
            )
        if duration_s > self.max_duration_s:
            raise VideoTooLarge(
                f"{name}: {duration_s:,.0f} s long; the limit is {self.max_duration_s:,.0f} s "
                "(PLASTICVISION_MAX_VIDEO_S)"
            )
        if frames > self.max_frames:
            raise VideoTooLarge(
                f"{name}: {frames:,} frames; the limit is {self.max_frames:,} "
                f"({self.max_duration_s:g} s at {MAX_FPS} fps, PLASTICVISION_MAX_VIDEO_S)"
            )

    def check_frame(self, name: str, index: int, time_s: float, width: int, height: int) -> None:
        """The same limits on one decoded frame (`index` from the start of the video, `time_s` from its
        timestamp), for files whose header says nothing or lies: a duration-less stream, a size jump."""
        where = f"at frame {index:,} ({time_s:,.1f} s)"
        if width * height > self.max_pixels:
            raise VideoTooLarge(
                f"{name}: pixel limit reached {where}: the video switches to {width}x{height}, over "
                f"{self.max_pixels:,} pixels per frame (PLASTICVISION_MAX_VIDEO_PIXELS)"
            )
        if time_s > self.max_duration_s:
            raise VideoTooLarge(
                f"{name}: duration limit reached {where}: the limit is {self.max_duration_s:,g} s "
                "(PLASTICVISION_MAX_VIDEO_S)"
            )
        if index >= self.max_frames:
            raise VideoTooLarge(
                f"{name}: frame limit reached {where}: the limit is {self.max_frames:,} frames "
                f"({self.max_duration_s:g} s at {MAX_FPS} fps, PLASTICVISION_MAX_VIDEO_S)"
            )
