"""Your session's swap settings: `GET` reads them, `POST` applies a validated partial update."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from plasticvision.server.deps import ApiKeyDep, RegistryDep, SessionDep
from plasticvision.server.schemas import ERROR_RESPONSES, SettingsResult

router = APIRouter(tags=["settings"], dependencies=[ApiKeyDep], responses=ERROR_RESPONSES)
SettingsChanges = Annotated[
    dict[str, Any],
    Body(
        description="any subset of the settings (see the Settings schema); unknown keys, wrong types, "
        "NaN and out-of-range values are refused with 422 naming the field",
        examples=[{"sharpness": 0.5, "mouth_mask": False}],
    ),
]


@router.get("/settings", response_model=SettingsResult)
async def read_settings(session: SessionDep) -> SettingsResult:
    return SettingsResult(success=True, settings=session.settings)


@router.post("/settings", response_model=SettingsResult)
async def update_settings(changes: SettingsChanges, session: SessionDep, registry: RegistryDep) -> SettingsResult:
    """Change some settings; the others keep their values. Nothing changes when any value is refused."""
    return SettingsResult(success=True, settings=await registry.change(session.update_settings, changes))
