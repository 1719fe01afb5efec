"""Per-stage milliseconds for every catalog swapper and face-mask combination, on a live stream.

Runs `LiveStream` (tracking, the per-frame path a webcam takes) over a 640x480 clip with the
synthetic models of the test suite (tests/support/onnx_fakes.py: the real interfaces, near-zero
inference), so on the CPU the numbers are our own cost around the models: crops, tensors,
masks, paste-back, post-processing. The time inside onnxruntime is reported apart per role
(`infer:swapper`, `infer:occluder`, `infer:parser`). With real weights and a GPU
(`--models-dir DIR --providers CUDAExecutionProvider` or `TensorrtExecutionProvider`), the
same table gives the real per-stage cost on that host.

    python -m bench.models_bench [--frames 60] [--swappers inswapper_128,hyperswap_1a_256]
        [--models-dir DIR --providers CUDAExecutionProvider,CPUExecutionProvider]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np

from plasticvision import FaceSwapper, Settings
from plasticvision.engines.inswapper.engine import InswapperEngine
from plasticvision.models.catalog import names_of
from plasticvision.models.store import ModelStore
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


def measure(swapper: FaceSwapper, settings: Settings, frames: list[np.ndarray], spent: dict[str, float]) -> dict:
    stream = swapper.stream(settings)
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
    return {name: median(values) for name, values in stages.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--swappers", default=",".join(names_of("swapper")))
    parser.add_argument("--models-dir", type=Path, help="real weights (default: synthetic models in a temp dir)")
    parser.add_argument("--providers", default="CPUExecutionProvider", help="onnxruntime providers, in order")
    args = parser.parse_args()
    providers = args.providers.split(",")
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
        print(f"providers {providers[0]}; {args.frames} frames 640x480 per row; median ms per frame")
        columns = ["total", "detect", "swap", "infer:swapper", "masks", "infer:occluder", "infer:parser", "colour",
                   "sharpen", "mouth", "feather", "blend"]
        print(f"{'swapper':<17} {'face_masks':<18}" + "".join(f"{c:>15}" for c in columns))
        for name in args.swappers.split(","):
            for masks in MASKS:
                row = measure(swapper, Settings(swapper=name, face_masks=masks), frames, spent)
                cells = "".join(f"{row.get(c, 0.0):>15.2f}" for c in columns)
                print(f"{name:<17} {'+'.join(masks) or 'none':<18}{cells}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
