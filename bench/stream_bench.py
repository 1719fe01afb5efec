"""Loopback stream benchmark: achieved fps and round-trip latency of `WS /ws/stream`.

Starts `plasticvision serve` on 127.0.0.1, uploads a source face, then one client sends
640x480 q70 JPEG frames (from tests/data/astronaut.png) at 30 fps and reports achieved fps
and round-trip p50/p95; then several clients at once report their fps. Each frame carries
its number as a barcode in a corner the swap never touches, so every reply is matched to
the frame it answers even when the server drops stale frames.

    python bench/stream_bench.py [--duration 20] [--fps 30] [--clients 4] [--engine dlib]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Coroutine

import cv2
import httpx
import numpy as np
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
BITS = 16
BLOCK_W, BLOCK_H = 32, 16  # one bit per block along the top edge
READ_SCALE = 4  # replies are decoded at a quarter size: the barcode survives, the client stays cheap


def stamp(frame: np.ndarray, number: int) -> np.ndarray:
    out = frame.copy()
    for bit in range(BITS):
        value = 255 if number >> bit & 1 else 0
        out[:BLOCK_H, bit * BLOCK_W : (bit + 1) * BLOCK_W] = value
    return out


def read_stamp(jpeg: bytes) -> int:
    gray = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_4)
    w, h = BLOCK_W // READ_SCALE, BLOCK_H // READ_SCALE
    return sum(1 << bit for bit in range(BITS) if gray[h // 2, bit * w + w // 2] > 127)


def make_frames(count: int, quality: int) -> list[bytes]:
    """`count` numbered 640x480 JPEGs of the astronaut (cropped to 4:3, not stretched)."""
    base = cv2.resize(cv2.imread(str(DATA / "astronaut.png"))[:384], (640, 480))
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    return [cv2.imencode(".jpg", stamp(base, n % (1 << BITS)), params)[1].tobytes() for n in range(count)]


@dataclass
class ClientResult:
    sent: int = 0
    received: int = 0
    latencies_ms: list[float] = field(default_factory=list)


async def run_client(url: str, frames: list[bytes], fps: float, duration: float) -> ClientResult:
    result = ClientResult()
    sent_at: dict[int, float] = {}
    async with connect(url, compression=None, max_size=None) as ws:
        await ws.recv()  # {"status": "connected"}

        async def receive() -> None:
            async for message in ws:
                if isinstance(message, bytes):
                    result.received += 1
                    started = sent_at.pop(read_stamp(message), None)
                    if started is not None:
                        result.latencies_ms.append((time.perf_counter() - started) * 1000)

        receiver = asyncio.create_task(receive())
        start = time.perf_counter()
        for number in range(int(duration * fps)):
            await asyncio.sleep(max(0.0, start + number / fps - time.perf_counter()))
            sent_at[number % (1 << BITS)] = time.perf_counter()
            await ws.send(frames[number % len(frames)])
            result.sent += 1
        await asyncio.sleep(0.5)  # the replies still in flight
        receiver.cancel()
    return result


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else float("nan")


def summary(result: ClientResult, duration: float) -> str:
    return (
        f"{result.received / duration:5.1f} fps ({result.received}/{result.sent} frames answered), "
        f"round trip p50 {percentile(result.latencies_ms, 50):5.1f} ms, p95 {percentile(result.latencies_ms, 95):5.1f} ms"
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; NaN elsewhere): the cost per frame, whatever the load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(server: subprocess.Popen, run: Coroutine[Any, Any, list[ClientResult]]) -> tuple[list[ClientResult], float]:
    """Results of one measurement and the server's CPU milliseconds per answered frame."""
    before = cpu_seconds(server.pid)
    results = asyncio.run(run)
    answered = sum(result.received for result in results) or 1
    return results, (cpu_seconds(server.pid) - before) * 1000 / answered


def start_server(port: int, engine: str) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("plasticvision")), "serve", "--engine", engine, "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            return server
        except httpx.TransportError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("the server did not start")
            time.sleep(0.2)


def upload_source(port: int, session: str) -> None:
    files = {"files": ("hanks.png", (DATA / "Tom_Hanks_54745.png").read_bytes(), "image/png")}
    response = httpx.post(
        f"http://127.0.0.1:{port}/upload-source-faces", files=files, headers={"X-Session-Id": session}, timeout=30
    )
    response.raise_for_status()


async def measure(port: int, clients: int, frames: list[bytes], fps: float, duration: float) -> list[ClientResult]:
    for index in range(clients):
        upload_source(port, f"bench-{index}")
    urls = [f"ws://127.0.0.1:{port}/ws/stream?session=bench-{index}" for index in range(clients)]
    return list(await asyncio.gather(*(run_client(url, frames, fps, duration) for url in urls)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per measurement (default 20)")
    parser.add_argument("--fps", type=float, default=30.0, help="frames per second each client sends (default 30)")
    parser.add_argument("--clients", type=int, default=4, help="clients in the concurrent run (default 4)")
    parser.add_argument("--quality", type=int, default=70, help="JPEG quality of the sent frames (default 70)")
    parser.add_argument("--engine", default="dlib", choices=("auto", "dlib", "inswapper"))
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    frames = make_frames(int(args.fps * args.duration), args.quality)
    print(f"{os.cpu_count()} CPU cores, {args.engine} engine, 640x480 q{args.quality} frames at {args.fps:g} fps")
    print("load average before (1/5/15 min): %.2f %.2f %.2f" % os.getloadavg())  # others' work skews the numbers
    server = start_server(args.port, args.engine)
    try:
        asyncio.run(measure(args.port, 1, frames[:30], args.fps, 1.0))  # warm-up
        (single,), cpu_ms = timed(server, measure(args.port, 1, frames, args.fps, args.duration))
        print(f"1 client:  {summary(single, args.duration)}; server CPU {cpu_ms:.1f} ms per frame")
        several, cpu_ms = timed(server, measure(args.port, args.clients, frames, args.fps, args.duration))
        for index, result in enumerate(several):
            print(f"{args.clients} clients, #{index + 1}: {summary(result, args.duration)}")
        print(f"{args.clients} clients: server CPU {cpu_ms:.1f} ms per frame")
        timings = httpx.get(f"http://127.0.0.1:{args.port}/status", timeout=10).json()["timings_ms"]
        print("server stage medians (ms):", ", ".join(f"{name} {ms:.1f}" for name, ms in timings.items()))
        print("load average after: %.2f %.2f %.2f" % os.getloadavg())
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
