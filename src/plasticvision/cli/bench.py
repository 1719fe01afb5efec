"""`bench`: the frame benchmark (still path, tracked live path and the textbook swap, one run).

The benchmark lives in the source checkout's `bench/` package with its clip maker and the
textbook swap, so it runs there (`python -m bench.frame_bench` in the checkout) rather than
shipped in the package.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from plasticvision.errors import PlasticVisionError

BENCH_FILE = Path("bench") / "frame_bench.py"


def find_checkout() -> Path:
    """The source checkout this package runs from, else the current folder, if it has bench/frame_bench.py."""
    for root in (Path(__file__).resolve().parents[3], Path.cwd()):
        if (root / BENCH_FILE).is_file():
            return root
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
    forwarded = [a for a in args.args if a != "--"]
    paths = [str(find_checkout()), os.environ.get("PYTHONPATH", "")]  # the checkout's `bench` package, run here
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in paths if path)}
    return subprocess.run([sys.executable, "-m", "bench.frame_bench", *forwarded], env=env).returncode
