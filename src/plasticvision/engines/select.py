"""Choosing an engine by name, and saying why: never a silent fallback."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from plasticvision.engines.base import Engine
from plasticvision.engines.devices import Device

log = logging.getLogger(__name__)

ENGINE_NAMES = ("auto", "dlib", "inswapper")


def choose_engine(name: str, models_dir: str | Path | None = None, device: Device | None = None) -> tuple[Engine, str]:
    """The engine to run (on `device`, default: the best provider) and a one-line reason for the choice
    (logged and shown in /status)."""
    if name not in ENGINE_NAMES:
        raise ValueError(f"unknown engine '{name}'; choose one of {', '.join(ENGINE_NAMES)}")
    if name == "dlib":
        return load_dlib(models_dir), "dlib engine requested"
    if name == "inswapper":
        from plasticvision.engines.inswapper.engine import InswapperEngine

        engine = InswapperEngine.from_models_dir(models_dir, **on_device(device))
        return engine, f"inswapper engine requested; default swapper {engine.default_swapper or 'none (download one)'}"
    return choose_auto(models_dir, device)


def on_device(device: Device | None) -> dict[str, Any]:
    """The inswapper engine's options that put its models on `device` (none: its own provider choice)."""
    return {} if device is None or device.kind == "default" else {"providers": device.providers()}


def choose_auto(models_dir: str | Path | None, device: Device | None = None) -> tuple[Engine, str]:
    """The neural engine when its detector, recognizer and a swapper are here (or fetchable on a GPU host),
    else dlib with the reason.

    Weights are only downloaded automatically where a GPU provider exists: on a CPU-only laptop
    the neural engine is too slow to be the better default, so 700 MB are not fetched behind the user's back.
    """
    try:
        from plasticvision.engines.inswapper.engine import InswapperEngine
        from plasticvision.engines.inswapper.providers import gpu_provider_available
        from plasticvision.models.catalog import REQUIRED, SWAPPER_PREFERENCE, spec_named
        from plasticvision.models.store import ModelStore

        store = ModelStore.from_config(models_dir)
        swappers = [spec_named(name) for name in SWAPPER_PREFERENCE]
        missing = store.missing(REQUIRED)
        if len(store.missing(swappers)) == len(swappers):
            missing.append(swappers[0])
        if missing and not gpu_provider_available():
            names = ", ".join(spec.name for spec in missing)
            return load_dlib(models_dir), (
                f"neural engine weights missing or damaged in {store.root} ({names}) and onnxruntime has no GPU "
                "provider, so they were not downloaded; using the offline dlib engine. Fetch them with "
                "`plasticvision models download --recommended` to use the neural engine"
            )
        for spec in missing:
            log.info("downloading %s for the neural engine (GPU provider available)", spec.name)
            store.download(spec)
        engine = InswapperEngine.from_store(store, **on_device(device))
    except Exception as exc:  # auto must always start an engine: any inswapper failure means dlib, said aloud
        reason = f"inswapper engine unavailable ({type(exc).__name__}: {exc}); using the offline dlib engine"
        log.warning("%s", reason)
        return load_dlib(models_dir), reason
    fetched = " (weights downloaded now)" if missing else ""
    enhance = "" if engine.supports_enhance else "; enhance off until `plasticvision models download gfpgan_1.4`"
    return engine, (
        f"inswapper weights present{fetched}; running on {engine.report.providers[0]}; "
        f"default swapper {engine.default_swapper}{enhance}"
    )


def load_dlib(models_dir: str | Path | None = None) -> Engine:
    """The dlib engine; with XSeg / BiSeNet weights in the models dir, its occlusion and region masks use them."""
    from plasticvision.engines.dlib.engine import DlibEngine

    engine = DlibEngine()
    try:
        attach_neural_masks(engine, models_dir)
    except Exception as exc:  # the masks are optional: the engine starts without them, said aloud
        log.warning("no neural occlusion or region mask for the dlib engine (%s: %s)", type(exc).__name__, exc)
    return engine


def attach_neural_masks(engine: Engine, models_dir: str | Path | None) -> None:
    """Give `engine` XSeg as its `occluder` (winning over its own) and BiSeNet as its `parser`, where present."""
    from plasticvision.engines.inswapper.crop_maskers import NeuralOccluder, NeuralParser
    from plasticvision.engines.inswapper.loader import ModelLoader
    from plasticvision.engines.inswapper.providers import choose_providers
    from plasticvision.models.catalog import OCCLUDER_PREFERENCE, PARSER_PREFERENCE, of_role
    from plasticvision.models.store import ModelStore

    store = ModelStore.from_config(models_dir)
    if not any(store.path(spec).is_file() for spec in of_role("occluder") + of_role("parser")):
        return  # nothing to load: not even onnxruntime's providers are asked
    loader = ModelLoader(store, choose_providers())
    occluder, parser = loader.first_available(OCCLUDER_PREFERENCE), loader.first_available(PARSER_PREFERENCE)
    if occluder is not None:
        engine.occluder = NeuralOccluder(loader.occluder(occluder))  # type: ignore[attr-defined]
    if parser is not None:
        engine.parser = NeuralParser(loader.parser(parser))  # type: ignore[attr-defined]

