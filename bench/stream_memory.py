"""Stream memory benchmark: the server's resident memory over a long single-client stream.

Starts `plasticvision serve`, streams 640x480 frames at 30 fps through `WS /ws/stream` (with
`plasticvision.client`, as stream_bench.py does) for `--duration` seconds, samples the server's RSS every few
seconds, and prints the samples and the change from the first sample after warm-up. Memory
that grows with the number of frames (a leak in the per-stream tracker, the session or the
pipeline's buffers) shows up as a steady climb.

    python -m bench.stream_memory [--duration 300]
"""

from __future__ import annotations

import argparse
import os
import threading
import time


from bench.stream_bench import run_client
from tests.support.server_process import throwaway_server

SAMPLE_EVERY_S = 10.0
WARM_UP_S = 20.0  # allocator pools and lazily loaded code settle in the first seconds


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def sample(pid: int, duration: float, into: list[tuple[float, float]]) -> None:
    start = time.monotonic()
    while time.monotonic() - start < duration:
        into.append((time.monotonic() - start, rss_mib(pid)))
        time.sleep(SAMPLE_EVERY_S)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of streaming (default 300)")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()

    print("load average before (1/5/15 min): %.2f %.2f %.2f" % os.getloadavg())
    samples: list[tuple[float, float]] = []
    with throwaway_server(args.port) as server:
        sampler = threading.Thread(target=sample, args=(server.pid, args.duration, samples), daemon=True)
        sampler.start()
        result = run_client(f"http://127.0.0.1:{args.port}", "memory", args.fps, args.duration)
        sampler.join()
    print(f"stream: {result.received / args.duration:.1f} fps ({result.received}/{result.sent} frames answered)")
    print("RSS MiB every %.0f s: %s" % (SAMPLE_EVERY_S, " ".join(f"{mib:.0f}" for _, mib in samples)))
    settled = [mib for at, mib in samples if at >= WARM_UP_S]
    if len(settled) >= 2:
        first, last = settled[0], settled[-1]
        print(f"after {WARM_UP_S:.0f} s warm-up: first {first:.1f} MiB, last {last:.1f} MiB "
              f"({100 * (last - first) / first:+.1f}%), range {min(settled):.1f}-{max(settled):.1f} MiB")


if __name__ == "__main__":
    main()
