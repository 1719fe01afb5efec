"""Which devices engines run on: `--devices 0,1`, `cpu:2`, or every CUDA device onnxruntime sees.

A device is where one engine replica loads its models. CUDA devices are addressed by
onnxruntime's `device_id`; `cpu:N` asks for N CPU replicas (each a full engine), which is
how a host without a GPU still gets several independent engines, and how the pool is tested.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from plasticvision.engines.inswapper.providers import CPU_PROVIDER, ProviderEntry, choose_providers

CUDA_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
TOKEN = re.compile(r"(?:(?P<kind>cpu|cuda|gpu):)?(?P<number>\d+)|(?P<bare>cpu|cuda|gpu)")
MAX_REPLICAS = 64


class BadDeviceSpec(ValueError):
    """A `--devices` value that names no device we can load an engine on."""


@dataclass(frozen=True)
class Device:
    """One place an engine replica runs: `cuda:<device_id>`, the `n`-th CPU replica, or `default`
    (no CUDA device: the engine's own provider choice, e.g. CoreML or DirectML, else the CPU)."""

    kind: str  # "cuda", "cpu" or "default"
    index: int = 0

    @property
    def label(self) -> str:
        return "default" if self.kind == "default" else f"{self.kind}:{self.index}"

    def providers(self, available: list[str] | None = None) -> list[ProviderEntry]:
        """onnxruntime providers for this device, with its `device_id`, ending with the CPU."""
        if self.kind == "default":
            return choose_providers(available)
        if self.kind == "cpu":
            return [CPU_PROVIDER]
        offered = set(ort.get_available_providers() if available is None else available)
        options = {"device_id": str(self.index)}
        return [(name, dict(options)) for name in CUDA_PROVIDERS if name in offered] + [CPU_PROVIDER]


def parse_devices(spec: str | None) -> list[Device]:
    """`None`/"auto": every visible CUDA device, else one `default` device; "0,1" or "cuda:0,cuda:1": those
    CUDA devices; "cpu:2": two CPU replicas; tokens may be mixed ("0,cpu")."""
    if spec is None or spec.strip().lower() in ("", "auto"):
        return [Device("cuda", index) for index in visible_cuda_devices()] or [Device("default")]
    devices: list[Device] = []
    cpus = 0
    for token in (part.strip().lower() for part in spec.split(",")):
        match = TOKEN.fullmatch(token)
        if match is None:
            raise BadDeviceSpec(f"devices: cannot read '{token}'; use e.g. '0,1', 'cuda:1' or 'cpu:2'")
        kind = match["kind"] or match["bare"] or "cuda"
        if kind == "cpu":
            replicas = int(match["number"]) if match["number"] is not None else 1
            if not 1 <= replicas <= MAX_REPLICAS:
                raise BadDeviceSpec(f"devices: 'cpu:N' takes 1 to {MAX_REPLICAS} replicas, got {replicas}")
            devices += [Device("cpu", cpus + n) for n in range(replicas)]
            cpus += replicas
        else:
            devices.append(Device("cuda", int(match["number"] or 0)))
    labels = [device.label for device in devices]
    if len(set(labels)) != len(labels):
        raise BadDeviceSpec(f"devices: a device is named twice in '{spec}'")
    return devices


def chosen_devices(devices: str | Sequence[Device] | None) -> list[Device]:
    """A spec string, devices as given, or for None one device: a library user who did not ask for a pool
    gets one engine (on the first CUDA device, else the engine's own provider choice)."""
    if devices is None:
        return parse_devices(None)[:1]
    return parse_devices(devices) if isinstance(devices, str) else list(devices)


def visible_cuda_devices() -> list[int]:
    """The CUDA device ids onnxruntime can use; [] when its build has no CUDA provider."""
    if not any(name in ort.get_available_providers() for name in CUDA_PROVIDERS):
        return []
    listed = sorted(
        {
            device.device.device_id
            for device in getattr(ort, "get_ep_devices", list)()
            if device.ep_name in CUDA_PROVIDERS
        }
    )
    if listed:
        return listed
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:  # ids inside the process are renumbered 0..n-1
        return list(range(len([part for part in visible.split(",") if part.strip() not in ("", "-1")])))
    gpus = Path("/proc/driver/nvidia/gpus")
    return list(range(len(list(gpus.iterdir())))) if gpus.is_dir() else [0]
