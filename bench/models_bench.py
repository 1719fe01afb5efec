"""Per-stage milliseconds for every catalog swapper and face-mask combination, on a live stream.

Runs `LiveStream` (tracking, the per-frame path a webcam takes) over a 640x480 clip with the
synthetic models of the test suite (tests/support/onnx_fakes.py: the real interfaces, near-zero
inference), so on the CPU the numbers are our own cost around the models: crops, tensors,
masks, paste-back, post-processing. The time inside onnxruntime is reported apart per role
(`infer:swapper`, `infer:occluder`, `infer:parser`). With real weights and a GPU
(`--models-dir DIR --providers gpu`: TensorRT, then CUDA, then CPU, whichever this onnxruntime
has; or name them, e.g. `CUDAExecutionProvider,CPUExecutionProvider`), the same table gives the
real per-stage cost on that host.

Rows with `occlusion` or `region` run twice: with the stream's mask cadence (`every 5`: the
masks are made on every fifth frame and reused in the aligned crop between) and with masks made
on every frame (`every 1`, what a still gets). Each stage is the mean ms per frame (so a
cadence's cost is spread over its frames); `worst` is the slowest frame (a frame that makes
the masks).

    python -m bench.models_bench [--frames 60] [--swappers inswapper_128,hyperswap_1a_256]
        [--models-dir DIR --providers gpu]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from plasticvision import FaceSwapper, Settings
from plasticvision.engines.inswapper.engine import InswapperEngine
from plasticvision.engines.inswapper.providers import choose_providers
from plasticvision.models.catalog import names_of
from plasticvision.models.store import ModelStore
from plasticvision.pipeline.crop_masks import MASK_EVERY
from tests.support import onnx_fakes

MASKS: tuple[tuple[str, ...], ...] = ((), ("box",), ("occlusion",), ("region",), ("occlusion", "region"))
FACE = onnx_fakes.face_at((320, 240), 64)


class Timed:
    """Adds up the time a model spends in onnxruntime under one label."""

    def __init__(self, model: Any, spent: dict[str, float], label: str) -> None:
        self.model, self.spent, self.label = model, spent, label
        self.run = model.run
        model.run = self

    def __call__(self, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.run(*args)
        finally:
            self.spent[self.label] += (time.perf_counter() - start) * 1000


def clip(frames: int) -> list[np.ndarray]:
    """A head bobbing a few pixels over the smooth frame, with camera noise."""
    rng = np.random.default_rng(0)
    base = onnx_fakes.smooth_frame()
    return [np.roll(base, (int(3 * np.sin(i / 5)), int(4 * np.cos(i / 7))), axis=(0, 1))
            + rng.integers(0, 6, base.shape, dtype=np.uint8) for i in range(frames)]


def cadences(masks: tuple[str, ...]) -> tuple[int, ...]:
    """The mask cadences worth a row: the stream's and every frame, where there are crop masks to reuse."""
    return (MASK_EVERY, 1) if {"occlusion", "region"} & set(masks) else (MASK_EVERY,)


def measure(
    swapper: FaceSwapper, settings: Settings, frames: list[np.ndarray], spent: dict[str, float], mask_every: int
) -> dict:
    stream = swapper.stream(settings, mask_every=mask_every)
    for frame in frames[:5]:  # warm-up: loads, first detection
        stream.swap(frame)
    stages: dict[str, list[float]] = defaultdict(list)
    for frame in frames:
        spent.clear()
        start = time.perf_counter()
        report = stream.swap(frame)
        stages["total"].append((time.perf_counter() - start) * 1000)
        for name, ms in {**report.timings_ms, **spent}.items():
            stages[name].append(ms)
    return {"worst": max(stages["total"]), **{name: sum(values) / len(frames) for name, values in stages.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--swappers", default=",".join(names_of("swapper")))
    parser.add_argument("--models-dir", type=Path, help="real weights (default: synthetic models in a temp dir)")
    parser.add_argument("--providers", default="CPUExecutionProvider",
                        help="onnxruntime providers, in order; `gpu`: TensorRT, CUDA, then CPU, as available")
    args = parser.parse_args()
    providers = choose_providers() if args.providers == "gpu" else args.providers.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.models_dir or onnx_fakes.build_catalog_dir(Path(tmp), [FACE])
        engine = InswapperEngine.from_store(ModelStore(root, checksums=args.models_dir is not None),
                                            providers=providers)
        spent: dict[str, float] = defaultdict(float)
        for name in args.swappers.split(","):
            Timed(engine.models.swapper(name), spent, "infer:swapper")
        if engine.occluder_name:
            Timed(engine.models.occluder(engine.occluder_name), spent, "infer:occluder")
        if engine.parser_name:
            Timed(engine.models.parser(engine.parser_name), spent, "infer:parser")
        swapper = FaceSwapper(engine=engine)
        frames = clip(args.frames)
        swapper.set_sources([frames[0]])
        print(f"providers {providers[0]}; {args.frames} frames 640x480 per row; mean ms per frame")
        columns = ["total", "worst", "detect", "swap", "infer:swapper", "masks", "infer:occluder", "infer:parser", "colour",
                   "sharpen", "mouth", "feather", "blend"]
        print(f"{'swapper':<17} {'face_masks':<18} {'cadence':>8}" + "".join(f"{c:>15}" for c in columns))
        for name in args.swappers.split(","):
            for masks in MASKS:
                for every in cadences(masks):
                    row = measure(swapper, Settings(swapper=name, face_masks=masks), frames, spent, every)
                    cells = "".join(f"{row.get(c, 0.0):>15.2f}" for c in columns)
                    print(f"{name:<17} {'+'.join(masks) or 'none':<18} {f'every {every}':>8}{cells}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
