"""Per-swap settings: one validated model shared by the Python API, the CLI and the server."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from plasticvision.models.catalog import names_of
from plasticvision.types import MASK_REGIONS, FaceMaskType, MaskRegion

SwapperName = Literal[names_of("swapper")]  # type: ignore[valid-type]
EnhancerName = Literal[names_of("enhancer")]  # type: ignore[valid-type]


class Settings(BaseModel):
    """The user-facing knobs of a swap. Unknown keys, wrong types, NaN and out-of-range values are rejected.

    Strict types stop `"yes"` from silently becoming True; the ranges are the contract in DESIGN.md.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    mouth_mask: bool = Field(True, description="Keep the target's own mouth (lip sync).")
    sharpness: float = Field(0.3, ge=0.0, le=1.0, description="Sharpening of the swapped face, 0 = none.")
    enhance: bool = Field(False, description="Face restoration with `enhancer` (neural engine only).")
    opacity: float = Field(1.0, ge=0.0, le=1.0, description="0 = original frame, 1 = full swap.")
    swap_all: bool = Field(False, description="Swap every face, not only the largest.")
    swapper: SwapperName | None = Field(  # type: ignore[valid-type]
        None, description="Face swapper model (neural engine); null: the server's default (the best one present)."
    )
    enhancer: EnhancerName | None = Field(  # type: ignore[valid-type]
        None, description="Restoration model used when `enhance` is on; null: the server's default."
    )
    face_masks: tuple[FaceMaskType, ...] = Field(
        (), strict=False,
        description="Masks combined by minimum with the feathered face mask: `box` (FaceFusion's soft box), "
        "`occlusion` (keeps hands, hair, glasses in front of the face), `region` (only `mask_regions`).",
    )
    mask_regions: tuple[MaskRegion, ...] = Field(
        MASK_REGIONS, strict=False, min_length=1, description="The face parts the `region` mask lets the swap cover."
    )

    @field_validator("face_masks", "mask_regions")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Order and repeats do not matter: one canonical form, so equal choices compare equal."""
        return tuple(dict.fromkeys(value))

    def updated(self, changes: dict) -> Settings:
        """A copy with `changes` applied and validated as a whole (a partial update)."""
        merged = self.model_dump() | dict(changes)
        return Settings.model_validate(merged)
