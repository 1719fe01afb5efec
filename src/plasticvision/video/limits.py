"""What a video may declare before any of its frames is decoded: pixels per frame, duration, frames.

Checked from the container's header alone, so a small file that claims ten hours of 8K is
refused at once (413) instead of tying up a worker for hours. The frame limit follows the
duration limit at `MAX_FPS`, so it also catches a header with an absurd frame count.
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
