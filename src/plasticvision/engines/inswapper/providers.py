"""Which onnxruntime execution provider runs the models, and saying loudly when a GPU sits idle.

Users of peer tools most often complain that a GPU box silently runs on CPU (the CPU-only
`onnxruntime` wheel installed next to, or instead of, `onnxruntime-gpu`; CUDA/cuDNN versions
that do not match). So the session's real providers are checked, not the requested ones.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence

import onnxruntime as ort
from platformdirs import user_cache_path

log = logging.getLogger(__name__)

GPU_PROVIDERS = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CoreMLExecutionProvider",
    "DmlExecutionProvider",
)
CPU_PROVIDER = "CPUExecutionProvider"
PREFERENCE = GPU_PROVIDERS + (CPU_PROVIDER,)

ProviderEntry = str | tuple[str, dict[str, str]]  # onnxruntime's own form: a name, or a name and its options


def provider_name(entry: ProviderEntry) -> str:
    return entry if isinstance(entry, str) else entry[0]


def choose_providers(available: Sequence[str] | None = None) -> list[str]:
    """The available providers in preference order, always ending with the CPU as the last resort."""
    offered = set(ort.get_available_providers() if available is None else available)
    return [name for name in GPU_PROVIDERS if name in offered] + [CPU_PROVIDER]


def gpu_provider_available() -> bool:
    """Whether this onnxruntime build offers any GPU provider (it may still fail to load)."""
    return any(name in GPU_PROVIDERS for name in ort.get_available_providers())


def gpu_evidence() -> str | None:
    """Why we think this machine has a GPU (None when nothing suggests one)."""
    if Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists():
        return "an NVIDIA driver is loaded"
    if shutil.which("nvidia-smi"):
        return "nvidia-smi is installed"
    if os.environ.get("CUDA_VISIBLE_DEVICES") not in (None, "", "-1"):
        return "CUDA_VISIBLE_DEVICES is set"
    return None


def create_session(path: str | Path, providers: Sequence[ProviderEntry]) -> ort.InferenceSession:
    """An inference session on the first provider of `providers` that loads (onnxruntime falls back)."""
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: provider fallbacks are reported by `check_session`
    # Idle onnxruntime threads busy-wait by default, stealing the cores that OpenCV needs for the
    # rest of the frame between runs; without spinning a 640x480 detection costs half as much on 2 cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=[with_options(name) for name in providers])


def with_options(provider: ProviderEntry) -> ProviderEntry:
    """A provider with the options it needs to be usable in practice (kept: those it came with, e.g. `device_id`).

    TensorRT compiles an engine per model on first use (minutes for inswapper); caching the
    engines on disk makes that a one-time cost instead of one per server start.
    """
    name, options = (provider, {}) if isinstance(provider, str) else (provider[0], dict(provider[1]))
    if name == "TensorrtExecutionProvider":
        cache = user_cache_path("plasticvision") / "tensorrt"
        options = {"trt_engine_cache_enable": "True", "trt_engine_cache_path": str(cache), **options}
    return (name, options) if options else name


@dataclass(frozen=True)
class ProviderReport:
    """What runs the models: reported by `GET /` and `GET /status`."""

    providers: tuple[str, ...]
    gpu: bool
    warning: str | None = None


def check_session(session: ort.InferenceSession, requested: Sequence[ProviderEntry]) -> ProviderReport:
    """Compare the providers a session really uses with the ones asked for, and warn if a GPU is idle."""
    used = tuple(session.get_providers())
    gpu = bool(used) and used[0] in GPU_PROVIDERS
    warning = None
    first = provider_name(requested[0]) if requested else None
    if first and used and used[0] != first:
        warning = f"onnxruntime could not start {first} and runs on {used[0]} instead"
    if not gpu:
        evidence = gpu_evidence()
        if evidence:
            offered = ort.get_available_providers()
            if not any(name in GPU_PROVIDERS for name in offered):
                cause = (
                    "the installed onnxruntime has no GPU provider (offers "
                    f"{', '.join(offered)}); both wheels install the same module, so run "
                    "`pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu` "
                    "(the `gpu` extra: `pip install -e .[gpu]`)"
                )
            else:
                cause = (
                    f"{warning or 'the GPU provider failed to load'}: check that the CUDA and cuDNN libraries "
                    "match your onnxruntime-gpu version (see the onnxruntime CUDA requirements)"
                )
            warning = f"a GPU seems present ({evidence}) but the models run on the CPU, because {cause}"
    if warning:
        log.warning("!!! %s", warning)
    return ProviderReport(used, gpu, warning)
