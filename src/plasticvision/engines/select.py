"""Choosing an engine by name, and saying why: never a silent fallback."""

from __future__ import annotations

from pathlib import Path

from plasticvision.engines.base import Engine

ENGINE_NAMES = ("auto", "dlib", "inswapper")


def choose_engine(name: str, models_dir: str | Path | None = None) -> tuple[Engine, str]:
    """The engine to run and a one-line reason for the choice (logged and shown in /status)."""
    if name not in ENGINE_NAMES:
        raise ValueError(f"unknown engine '{name}'; choose one of {', '.join(ENGINE_NAMES)}")
    if name == "dlib":
        return load_dlib(), "dlib engine requested"
    if name == "inswapper":
        from plasticvision.engines.inswapper.engine import InswapperEngine

        return InswapperEngine.from_models_dir(models_dir), "inswapper engine requested"
    return load_dlib(), "inswapper engine is not available in this build; using the offline dlib engine"


def load_dlib() -> Engine:
    from plasticvision.engines.dlib.engine import DlibEngine

    return DlibEngine()
