"""Stream benchmark: achieved fps and capture-to-reply latency of `WS /ws/stream` with `plasticvision.client`.

Starts `plasticvision serve` on 127.0.0.1, then streams 640x480 frames of tests/data/astronaut.png
at 30 fps with the project's own client (protocol 2: frames in flight, sequence numbers, capture
times echoed, adaptive quality): one client with one frame in flight (the old page's way, the
baseline), one client as shipped, then several clients at once. `--rtt` and `--mbps` put the
emulated link (`plasticvision.tools.netem`) between the clients and the server.

    python -m bench.stream_bench [--duration 20] [--fps 30] [--clients 4] [--rtt 0] [--mbps none]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from tests.support.server_process import cpu_seconds, throwaway_server

from plasticvision.client import LiveConnection, StreamClient
from plasticvision.tools.netem import emulated_link

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
WARM_UP_S = 2.0


def camera_frame() -> np.ndarray:
    """A 640x480 frame of the astronaut (cropped to 4:3, not stretched)."""
    return cv2.resize(cv2.imread(str(DATA / "astronaut.png"))[:384], (640, 480))


@dataclass
class ClientResult:
    sent: int = 0
    received: int = 0
    dropped: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    quality: int = 0
    width: int = 0


def pump(live: LiveConnection, frame: np.ndarray, fps: float, seconds: float, into: ClientResult | None) -> None:
    """Offer a frame every 1/fps s (the pacer may refuse it) and take every reply meanwhile."""
    start, number = time.monotonic(), 0
    while (now := time.monotonic()) < start + seconds:
        due = start + number / fps
        if now >= due:
            number += 1
            if live.send(frame) is not None and into is not None:
                into.sent += 1
            continue
        reply = live.receive(timeout=due - now)
        if reply is not None and into is not None:
            into.received += 1
            into.latencies_ms.append(reply.latency_ms)


def run_client(url: str, session: str, fps: float, duration: float, max_in_flight: int = 8) -> ClientResult:
    client = StreamClient(url, session_id=session, timeout=30)
    client.upload_sources([DATA / "Tom_Hanks_54745.png"])
    frame, result = camera_frame(), ClientResult()
    with client.open_stream(max_in_flight=max_in_flight) as live:
        pump(live, frame, fps, WARM_UP_S, None)  # the first detection; the window opens
        dropped = live.stats().dropped
        pump(live, frame, fps, duration, result)
        stats = live.stats()
    result.dropped, result.quality, result.width = stats.dropped - dropped, stats.jpeg_quality, stats.width
    return result


def run_clients(url: str, clients: int, fps: float, duration: float, max_in_flight: int = 8) -> list[ClientResult]:
    """Each client in its own thread (each has its own connection loop), all at once."""
    results: list[ClientResult | None] = [None] * clients

    def one(index: int) -> None:
        results[index] = run_client(url, f"bench-{index}", fps, duration, max_in_flight)

    threads = [threading.Thread(target=one, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [result for result in results if result is not None]


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else float("nan")


def summary(result: ClientResult, duration: float) -> str:
    return (
        f"{result.received / duration:5.1f} fps ({result.received}/{result.sent} answered, {result.dropped} dropped), "
        f"latency p50 {percentile(result.latencies_ms, 50):5.1f} ms, p95 {percentile(result.latencies_ms, 95):5.1f} ms, "
        f"q{result.quality} {result.width} px"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per measurement (default 20)")
    parser.add_argument("--fps", type=float, default=30.0, help="frames per second each client offers (default 30)")
    parser.add_argument("--clients", type=int, default=4, help="clients in the concurrent run (default 4)")
    parser.add_argument("--rtt", type=float, default=0.0, help="emulated round trip in ms (default 0: loopback)")
    parser.add_argument("--mbps", type=float, default=None, help="emulated bandwidth per direction (default: none)")
    parser.add_argument("--engine", default="dlib", choices=("auto", "dlib", "inswapper"))
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    link = f"{args.rtt:g} ms round trip" + (f", {args.mbps:g} Mbit/s" if args.mbps else "")
    print(f"{os.cpu_count()} CPU cores, {args.engine} engine, 640x480 frames offered at {args.fps:g} fps, {link}")
    print("load average before (1/5/15 min): %.2f %.2f %.2f" % os.getloadavg())  # others' work skews the numbers
    with ExitStack() as stack:
        server = stack.enter_context(throwaway_server(args.port, args.engine))
        url = f"http://127.0.0.1:{args.port}"
        if args.rtt or args.mbps:
            url = stack.enter_context(emulated_link(url, args.rtt, args.mbps))
        (baseline,) = run_clients(url, 1, args.fps, args.duration, max_in_flight=1)
        print(f"1 client, 1 frame in flight (baseline): {summary(baseline, args.duration)}")
        before = cpu_seconds(server.pid)
        (single,) = run_clients(url, 1, args.fps, args.duration)
        cpu_ms = (cpu_seconds(server.pid) - before) * 1000 / max(1, single.received)
        ratio = single.received / max(1, baseline.received)
        print(
            f"1 client:  {summary(single, args.duration)}; {ratio:.2f}x the baseline's fps; server CPU {cpu_ms:.1f} ms/frame"
        )
        several = run_clients(url, args.clients, args.fps, args.duration)
        for index, result in enumerate(several):
            print(f"{args.clients} clients, #{index + 1}: {summary(result, args.duration)}")
        status = StreamClient(url).status()
        print("server stage medians (ms):", ", ".join(f"{name} {ms:.1f}" for name, ms in status["timings_ms"].items()))
        print(
            "server time of live frames (ms):",
            ", ".join(f"{name} {ms:.1f}" for name, ms in status["stream_ms"].items()),
        )
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
