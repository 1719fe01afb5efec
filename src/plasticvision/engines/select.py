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
    (logged and shown in /status); the inswapper engine's weights come from `store`."""
    if name not in ENGINE_NAMES:
        raise ValueError(f"unknown engine '{name}'; choose one of {', '.join(ENGINE_NAMES)}")
    if name == "dlib":
        return load_dlib(), "dlib engine requested"
    if name == "inswapper":
        from plasticvision.engines.inswapper.engine import InswapperEngine

        return InswapperEngine.from_store(store, **on_device(device)), "inswapper engine requested"
    return choose_auto(store, device)


def on_device(device: Device | None) -> dict[str, Any]:
    """The inswapper engine's options that put its models on `device` (none: its own provider choice)."""
    return {} if device is None or device.kind == "default" else {"providers": device.providers()}


def choose_auto(store: ModelStore, device: Device | None = None) -> tuple[Engine, str]:
    """inswapper when its weights are here (or fetchable on a GPU host), else dlib with the reason.

    Weights are only downloaded automatically where a GPU provider exists: on a CPU-only laptop
    inswapper is too slow to be the better default, so 700 MB are not fetched behind the user's back.
    """
    try:
        from plasticvision.engines.inswapper.engine import InswapperEngine
        from plasticvision.engines.inswapper.providers import gpu_provider_available
        from plasticvision.models.catalog import REQUIRED

        missing = store.missing(REQUIRED)
        if missing and not gpu_provider_available():
            names = ", ".join(spec.name for spec in missing)
            return load_dlib(), (
                f"inswapper weights missing or damaged in {store.root} ({names}) and onnxruntime has no GPU "
                "provider, so they were not downloaded; using the offline dlib engine. Fetch them with "
                "`plasticvision models download` to use inswapper"
            )
        for spec in missing:
            log.info("downloading %s for the inswapper engine (GPU provider available)", spec.name)
            store.download(spec)
        engine = InswapperEngine.from_store(store, **on_device(device))
    except Exception as exc:  # auto must always start an engine: any inswapper failure means dlib, said aloud
        reason = f"inswapper engine unavailable ({type(exc).__name__}: {exc}); using the offline dlib engine"
        log.warning("%s", reason)
        return load_dlib(), reason
    fetched = " (weights downloaded now)" if missing else ""
    enhance = "" if engine.supports_enhance else "; enhance off until `plasticvision models download gfpgan_1.4`"
    return engine, f"inswapper weights present{fetched}; running on {engine.report.providers[0]}{enhance}"


def load_dlib() -> Engine:
    from plasticvision.engines.dlib.engine import DlibEngine

    return DlibEngine()
