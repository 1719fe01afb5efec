"""`GET /models`: every catalog model by role, present or missing here, and what a session may choose."""

from __future__ import annotations

from fastapi import APIRouter

from plasticvision.models.catalog import CATALOG, ROLES
from plasticvision.models.store import ModelStore
from plasticvision.server.deps import ApiKeyDep, ConfigDep, SwapperDep
from plasticvision.server.schemas import ERROR_RESPONSES, ModelChoices, ModelEntry, ModelsListing

router = APIRouter(tags=["models"])


@router.get("/models", response_model=ModelsListing, dependencies=[ApiKeyDep], responses=ERROR_RESPONSES)
def list_models(config: ConfigDep, swapper: SwapperDep) -> ModelsListing:
    """Each role's models with present/missing (a damaged file says why), licence and checksum kind.

    Sync (run in a thread): the first check of a file hashes it; later checks read its stamp.
    """
    store = ModelStore(config.models_dir, checksums=config.model_checksums, mirror=config.model_mirror)
    roles: dict[str, list[ModelEntry]] = {role: [] for role in ROLES}
    for spec in CATALOG:
        problem = store.problem(spec)
        roles[spec.role].append(ModelEntry(
            name=spec.name, title=spec.title, file=spec.file, size=spec.size,
            status="present" if problem is None else "missing" if problem.startswith("missing") else "unusable",
            problem=problem, checksum=spec.checksum_kind, licence=spec.licence, commercial=spec.commercial,
            download=f"plasticvision models download {spec.name}",
        ))
    choices = swapper.engine.info().get("models")
    return ModelsListing(
        engine=swapper.engine.name, checksums=store.checksums, roles=roles,
        choices=ModelChoices(**choices) if choices else ModelChoices(),
    )
