"""Choosing an engine by name, and saying why: never a silent fallback."""

from __future__ import annotations

import logging
from typing import Any

from plasticvision.engines.base import Engine
from plasticvision.engines.devices import Device
from plasticvision.models.store import ModelStore

log = logging.getLogger(__name__)

ENGINE_NAMES = ("auto", "dlib", "inswapper")


def choose_engine(name: str, store: ModelStore, device: Device | None = None) -> tuple[Engine, str]:
    """The engine to run (on `device`, default: the best provider) and a one-line reason for the choice
    (logged and shown in /status); the neural engine's models come from `store`."""
    if name not in ENGINE_NAMES:
        raise ValueError(f"unknown engine '{name}'; choose one of {', '.join(ENGINE_NAMES)}")
    if name == "dlib":
        return load_dlib(store), "dlib engine requested"
    if name == "inswapper":
        from plasticvision.engines.inswapper.engine import InswapperEngine

        engine = InswapperEngine.from_store(store, **on_device(device))
        return engine, f"inswapper engine requested; default swapper {engine.default_swapper or 'none (download one)'}"
    return choose_auto(store, device)


def on_device(device: Device | None) -> dict[str, Any]:
    """The inswapper engine's options that put its models on `device` (none: its own provider choice)."""
    return {} if device is None or device.kind == "default" else {"providers": device.providers()}


def choose_auto(store: ModelStore, device: Device | None = None) -> tuple[Engine, str]:
    """The neural engine when its detector, recognizer and a swapper are here (or fetchable on a GPU host),
    else dlib with the reason.

    Weights are only downloaded automatically where a GPU provider exists: on a CPU-only laptop
    the neural engine is too slow to be the better default, so 700 MB are not fetched behind the user's back.
    """
    try:
        from plasticvision.engines.inswapper.engine import InswapperEngine
        from plasticvision.engines.inswapper.providers import gpu_provider_available
        from plasticvision.models.catalog import REQUIRED, SWAPPER_PREFERENCE, spec_named

        swappers = [spec_named(name) for name in SWAPPER_PREFERENCE]
        missing = store.missing(REQUIRED)
        if len(store.missing(swappers)) == len(swappers):
            missing.append(swappers[0])
        if missing and not gpu_provider_available():
            names = ", ".join(spec.name for spec in missing)
            return load_dlib(store), (
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
        return load_dlib(store), reason
    fetched = " (weights downloaded now)" if missing else ""
    enhance = "" if engine.supports_enhance else "; enhance off until `plasticvision models download gfpgan_1.4`"
    return engine, (
        f"inswapper weights present{fetched}; running on {engine.report.providers[0]}; "
        f"default swapper {engine.default_swapper}{enhance}"
    )


def load_dlib(store: ModelStore | None = None) -> Engine:
    """The dlib engine; with XSeg / BiSeNet weights in `store`, its occlusion and region masks use them."""
    from plasticvision.engines.dlib.engine import DlibEngine

    engine = DlibEngine()
    try:
        if store is not None:
            attach_neural_masks(engine, store)
    except Exception as exc:  # the masks are optional: the engine starts without them, said aloud
        log.warning("no neural occlusion or region mask for the dlib engine (%s: %s)", type(exc).__name__, exc)
    return engine


def attach_neural_masks(engine: Engine, store: ModelStore) -> None:
    """Give `engine` XSeg as its `occluder` (winning over its own) and BiSeNet as its `parser`, where present."""
    from plasticvision.engines.inswapper.crop_maskers import NeuralOccluder, NeuralParser
    from plasticvision.engines.inswapper.loader import ModelLoader
    from plasticvision.engines.inswapper.providers import choose_providers
    from plasticvision.models.catalog import OCCLUDER_PREFERENCE, PARSER_PREFERENCE, of_role

    if not any(store.path(spec).is_file() for spec in of_role("occluder") + of_role("parser")):
        return  # nothing to load: not even onnxruntime's providers are asked
    loader = ModelLoader(store, choose_providers())
    occluder, parser = loader.first_available(OCCLUDER_PREFERENCE), loader.first_available(PARSER_PREFERENCE)
    if occluder is not None:
        engine.occluder = NeuralOccluder(loader.occluder(occluder))  # type: ignore[attr-defined]
    if parser is not None:
        engine.parser = NeuralParser(loader.parser(parser))  # type: ignore[attr-defined]
