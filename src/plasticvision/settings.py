"""Per-swap settings: one validated model shared by the Python API, the CLI and the server."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """The user-facing knobs of a swap. Unknown keys, wrong types, NaN and out-of-range values are rejected.

    Strict types stop `"yes"` from silently becoming True; the ranges are the contract in DESIGN.md.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    mouth_mask: bool = Field(True, description="Keep the target's own mouth (lip sync).")
    sharpness: float = Field(0.3, ge=0.0, le=1.0, description="Sharpening of the swapped face, 0 = none.")
    enhance: bool = Field(False, description="GFPGAN face restoration (inswapper engine only).")
    opacity: float = Field(1.0, ge=0.0, le=1.0, description="0 = original frame, 1 = full swap.")
    swap_all: bool = Field(False, description="Swap every face, not only the largest.")

    def updated(self, changes: dict) -> Settings:
        """A copy with `changes` applied and validated as a whole (a partial update)."""
        merged = self.model_dump() | dict(changes)
        return Settings.model_validate(merged)
