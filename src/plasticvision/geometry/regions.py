"""A window of a frame around a face: where an engine renders and where a crop goes back."""

from __future__ import annotations

from dataclasses import dataclass

from plasticvision.types import Face


@dataclass(frozen=True)
class Region:
    """An axis-aligned window of a frame, in whole pixels, end-exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @classmethod
    def around(cls, face: Face, frame_shape: tuple[int, ...], margin: float) -> Region:
        """The face box grown by `margin` of its size on every side, clipped to the frame."""
        h, w = frame_shape[:2]
        x0, y0, x1, y1 = (float(v) for v in face.box)
        grow_x, grow_y = (x1 - x0) * margin, (y1 - y0) * margin
        return cls(
            max(int(x0 - grow_x), 0),
            max(int(y0 - grow_y * 1.4), 0),  # more room above: the forehead
            min(int(x1 + grow_x) + 1, w),
            min(int(y1 + grow_y) + 1, h),
        )
