"""Catalog models loaded on first use, once per process, shared by every session (thread-safe).

A session that picks `hyperswap_1b_256` costs its load once for the whole server; a model
nobody picks is never loaded. `available` says which models a session may choose (their
files are present and verified); `choice_problem` says why one cannot be, in a user's terms.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from plasticvision.engines.inswapper.catalog_models import (
    CatalogModel,
    EnhancerModel,
    OccluderModel,
    ParserModel,
    SwapperModel,
)
from plasticvision.engines.inswapper.providers import ProviderEntry
from plasticvision.errors import ModelMissing, UnsupportedOption
from plasticvision.models import catalog
from plasticvision.models.catalog import ModelSpec, Role
from plasticvision.models.store import ModelStore

log = logging.getLogger(__name__)
M = TypeVar("M", bound=CatalogModel)


class ModelLoader:
    """The models dir's catalog models, each loaded once. `paths` pins files outside the store (tests, benches)."""

    def __init__(
        self, store: ModelStore | None, providers: Sequence[ProviderEntry], paths: dict[str, Path] | None = None
    ) -> None:
        self.store = store
        self.providers = list(providers)
        self.paths = dict(paths or {})
        self._models: dict[str, CatalogModel] = {}
        self._lock = threading.RLock()  # a swapper loads its converter inside its own load

    def problem(self, spec: ModelSpec) -> str | None:
        """Why `spec` cannot be used here ("missing", a checksum mismatch), or None."""
        if spec.name in self.paths:
            return None if self.paths[spec.name].is_file() else "missing"
        if self.store is None:
            return "missing"
        return self.store.problem(spec)

    def available(self, role: Role) -> tuple[str, ...]:
        """The models of `role` whose files are present and pass their checks, in catalog order."""
        return tuple(spec.name for spec in catalog.of_role(role) if self.usable(spec))

    def usable(self, spec: ModelSpec) -> bool:
        if self.problem(spec) is not None:
            return False
        return spec.converter is None or self.problem(catalog.spec_named(spec.converter)) is None

    def first_available(self, preference: Sequence[str]) -> str | None:
        return next((name for name in preference if self.usable(catalog.spec_named(name))), None)

    def check_choice(self, name: str, role: Role) -> None:
        """Raise a 422 naming the models of `role` that are here and how to fetch `name`, unless it is usable."""
        spec = catalog.spec_named(name)
        if spec.role != role:
            raise UnsupportedOption(f"{name} is a {spec.role}, not a {role}")
        if self.usable(spec):
            return
        present = ", ".join(self.available(role)) or "none"
        problem = self.problem(spec) or f"needs {spec.converter}"
        raise UnsupportedOption(
            f"{role} {name} is not usable on this server ({problem}); {role}s here: {present}. "
            f"Fetch it with `plasticvision models download {name}`"
        )

    def swapper(self, name: str) -> SwapperModel:
        spec = catalog.spec_named(name)
        return self._get(spec, lambda path: SwapperModel(spec, path, self.providers, self._converter(spec)))

    def enhancer(self, name: str) -> EnhancerModel:
        spec = catalog.spec_named(name)
        return self._get(spec, lambda path: EnhancerModel(spec, path, self.providers))

    def occluder(self, name: str) -> OccluderModel:
        spec = catalog.spec_named(name)
        return self._get(spec, lambda path: OccluderModel(spec, path, self.providers))

    def parser(self, name: str) -> ParserModel:
        spec = catalog.spec_named(name)
        return self._get(spec, lambda path: ParserModel(spec, path, self.providers))

    def _converter(self, spec: ModelSpec) -> CatalogModel | None:
        if spec.converter is None:
            return None
        converter = catalog.spec_named(spec.converter)
        return self._get(converter, lambda path: CatalogModel(converter, path, self.providers))

    def _get(self, spec: ModelSpec, load) -> M:  # type: ignore[no-untyped-def, type-var]
        model = self._models.get(spec.name)
        if model is not None:
            return model  # type: ignore[return-value]
        with self._lock:  # one load per model, even when sessions ask at once
            model = self._models.get(spec.name)
            if model is None:
                model = load(self._path(spec))
                log.info("loaded %s (%s)", spec.name, spec.title)
                self._models[spec.name] = model
        return model  # type: ignore[return-value]

    def _path(self, spec: ModelSpec) -> Path:
        if spec.name in self.paths:
            if not self.paths[spec.name].is_file():
                raise ModelMissing(f"{spec.name}: {self.paths[spec.name]} does not exist")
            return self.paths[spec.name]
        if self.store is None:
            raise ModelMissing(f"{spec.name} is not available: no models dir")
        return self.store.verify(spec)
