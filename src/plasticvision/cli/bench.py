"""`bench`: the frame benchmark (still path, tracked live path and the textbook swap, one run).

The benchmark lives in the source checkout's `bench/` folder with its clip maker and the
textbook swap, so it is run from there rather than shipped in the package.
"""

from __future__ import annotations

import argparse
import runpy
from pathlib import Path

from plasticvision.errors import PlasticVisionError

BENCH_FILE = Path("bench") / "frame_bench.py"


def find_bench() -> Path:
    """bench/frame_bench.py in the checkout this package runs from, else under the current folder."""
    for root in (Path(__file__).resolve().parents[3], Path.cwd()):
        if (root / BENCH_FILE).is_file():
            return root / BENCH_FILE
    raise PlasticVisionError(f"{BENCH_FILE} not found: run `plasticvision bench` from a source checkout")


def register(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench",
        help="frame benchmark: ms per stage, ratio to the textbook swap, identity, jitter and lag",
        description="Runs bench/frame_bench.py; arguments after `bench` go to it (see `plasticvision bench -- --help`).",
    )
    bench.add_argument("args", nargs=argparse.REMAINDER, help="arguments for bench/frame_bench.py")
    bench.set_defaults(run=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    module = runpy.run_path(str(find_bench()), run_name="frame_bench")
    forwarded = [a for a in args.args if a != "--"]
    return int(module["main"](forwarded))
