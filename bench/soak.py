"""Soak: N WebSocket clients for T minutes, plus a trickle of image swaps and video jobs.

Starts `plasticvision serve` as its own process (data in a temporary folder), gives each
client a session with a source face, and streams numbered 640x480 JPEGs from every client
with one frame in flight at a time (the next goes when the reply is back, at most `--fps`),
so every client gets its share and round trips are real. Meanwhile an image swap goes every
`--image-every` seconds and a short video job every `--video-every` seconds. The server's
resident memory is sampled every `--sample-s` seconds after `--warm-up-s` seconds of the same
load (the streams and trickle run during the warm-up too; fps counts the whole run).

Prints per-client fps and round-trip p50/p95, errors, the trickle's results, the RSS samples
and the growth from the first third of the samples to the last (medians), and the spread of
the clients' fps around their median.

    python -m bench.soak --clients 16 --minutes 10      # the README's numbers
    python -m bench.soak --clients 4 --minutes 1        # what the suite runs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import httpx
from websockets.asyncio.client import connect

from bench.stream_bench import camera_frame, percentile
from tests.support.server_process import ServerProcess, server_process
from tests.support.video_clips import make_clip

from plasticvision.protocol import KIND_FRAME, decode_reply, encode_frame

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "data" / "Tom_Hanks_54745.png"
TARGET = ROOT / "tests" / "data" / "astronaut.png"
REPLY_TIMEOUT_S = 5.0  # a reply later than this counts as an error (a stalled stream)


@dataclass
class ClientStats:
    frames: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)


@dataclass
class TrickleStats:
    images: int = 0
    videos: int = 0
    errors: list[str] = field(default_factory=list)
    image_ms: list[float] = field(default_factory=list)


@dataclass
class SoakResult:
    clients: int
    seconds: float
    fps: list[float]
    rtt_p50_ms: list[float]
    rtt_p95_ms: list[float]
    client_errors: int
    images: int
    videos: int
    trickle_errors: list[str]
    rss_mib: list[float]
    growth_percent: float
    fps_spread_percent: float  # the farthest client from the median fps, in percent of it
    load_before: tuple[float, float, float]
    server_tracebacks: list[str] = field(default_factory=list)  # what the server logged of its crashes, to say why


async def stream_client(url: str, jpeg: bytes, fps: float, until: float, stats: ClientStats) -> None:
    """One frame in flight (protocol 2, so each reply says which frame it answers): send, wait for its
    reply (or give up after REPLY_TIMEOUT_S), pace to `fps`. A reply to another frame is an error."""
    async with connect(f"{url}&protocol=2", compression=None, max_size=None) as ws:
        await ws.recv()  # {"status": "connected", "protocol": 2, ...}
        number = 0
        while time.monotonic() < until:
            started = time.perf_counter()
            await ws.send(encode_frame(number, started * 1000, jpeg))
            try:
                reply = await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S)
            except TimeoutError:
                stats.errors += 1
                number += 1  # the next frame gets a new number: the server refuses one going backwards
                continue
            header = decode_reply(reply)[0] if isinstance(reply, bytes) else None
            if header is None or header.kind != KIND_FRAME or header.seq != number:
                stats.errors += 1
            else:
                stats.frames += 1
                stats.latencies_ms.append((time.perf_counter() - started) * 1000)
            number += 1
            await asyncio.sleep(max(0.0, 1 / fps - (time.perf_counter() - started)))


async def upload_source(client: httpx.AsyncClient, session: str) -> None:
    files = {"files": ("hanks.png", SOURCE.read_bytes(), "image/png")}
    response = await client.post("/upload-source-faces", files=files, headers={"X-Session-Id": session})
    response.raise_for_status()


def swap_files(name: str, data: bytes, media_type: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("source_files", ("s.png", SOURCE.read_bytes(), "image/png")), ("target_file", (name, data, media_type))]


async def swap_image(client: httpx.AsyncClient, stats: TrickleStats) -> None:
    files = swap_files("t.png", TARGET.read_bytes(), "image/png")
    started = time.perf_counter()
    response = await client.post("/swap-image", files=files)
    if response.status_code != 200:
        stats.errors.append(f"swap-image {response.status_code}: {response.text[:200]}")
        return
    stats.images += 1
    stats.image_ms.append((time.perf_counter() - started) * 1000)


async def video_job(client: httpx.AsyncClient, clip: Path, stats: TrickleStats) -> None:
    files = swap_files(clip.name, clip.read_bytes(), "video/mp4")
    response = await client.post("/jobs/video", files=files)
    if response.status_code != 202:
        stats.errors.append(f"jobs/video {response.status_code}: {response.text[:200]}")
        return
    job_id = response.json()["job_id"]
    while (record := (await client.get(f"/jobs/{job_id}")).json())["state"] in ("queued", "running"):
        await asyncio.sleep(0.5)
    if record["state"] != "done" or (await client.get(f"/jobs/{job_id}/result")).status_code != 200:
        stats.errors.append(f"video job {job_id}: {record['state']} {record.get('error')}")
        return
    stats.videos += 1


async def every(period_s: float, until: float, work) -> None:
    while time.monotonic() + period_s < until:
        await asyncio.sleep(period_s)
        await work()


async def sample_rss(server: ServerProcess, warm_up_s: float, period_s: float, until: float, into: list[float]) -> None:
    await asyncio.sleep(warm_up_s)  # thread arenas, encoder buffers and caches fill up in the first seconds
    while time.monotonic() < until:
        into.append(server.rss_mib())
        await asyncio.sleep(period_s)


def growth_percent(samples: list[float]) -> float:
    third = max(len(samples) // 3, 1)
    first, last = statistics.median(samples[:third]), statistics.median(samples[-third:])
    return 100 * (last - first) / first


async def soak(server: ServerProcess, args: argparse.Namespace, clip: Path) -> SoakResult:
    jpeg = cv2.imencode(".jpg", camera_frame(), [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes()
    trickle = TrickleStats()
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
        sessions = [f"soak-{index}" for index in range(args.clients)]
        for session in sessions:
            await upload_source(client, session)
        await swap_image(client, trickle)  # every kind of request once before the load starts
        await video_job(client, clip, trickle)
        ws_base = server.url.replace("http://", "ws://")
        stats = [ClientStats() for _ in sessions]
        seconds = args.warm_up_s + args.minutes * 60
        until = time.monotonic() + seconds
        rss: list[float] = []
        await asyncio.gather(
            *(
                stream_client(f"{ws_base}/ws/stream?session={session}", jpeg, args.fps, until, client_stats)
                for session, client_stats in zip(sessions, stats)
            ),
            every(args.image_every, until, lambda: swap_image(client, trickle)),
            every(args.video_every, until, lambda: video_job(client, clip, trickle)),
            sample_rss(server, args.warm_up_s, args.sample_s, until, rss),
        )
    fps = [st.frames / seconds for st in stats]
    median_fps = statistics.median(fps)
    return SoakResult(
        clients=args.clients,
        seconds=seconds,
        fps=[round(value, 2) for value in fps],
        rtt_p50_ms=[round(percentile(st.latencies_ms, 50), 1) for st in stats],
        rtt_p95_ms=[round(percentile(st.latencies_ms, 95), 1) for st in stats],
        client_errors=sum(st.errors for st in stats),
        images=trickle.images,
        videos=trickle.videos,
        trickle_errors=trickle.errors,
        rss_mib=[round(value, 1) for value in rss],
        growth_percent=round(growth_percent(rss), 2),
        fps_spread_percent=round(100 * max(abs(value - median_fps) for value in fps) / (median_fps or 1e-9), 1),
        load_before=os.getloadavg(),
    )


def run(args: argparse.Namespace) -> SoakResult:
    with tempfile.TemporaryDirectory(prefix="plasticvision-soak-") as folder:
        folder = Path(folder)
        clip = make_clip(folder / "clip.mp4", size=(320, 240), seconds=2.0)
        load = os.getloadavg()
        env = {"PLASTICVISION_MAX_WS_CONNECTIONS": str(max(32, args.clients)), "PLASTICVISION_MAX_SESSIONS": "1024"}
        with server_process(folder / "data", folder / "server.log", env=env, nice=args.nice) as server:
            result = asyncio.run(soak(server, args, clip))
            result.server_tracebacks = tracebacks(server.log())
        result.load_before = load
        return result


def tracebacks(log: str) -> list[str]:
    """Each traceback in the server's log, whole: a failed job's record names only the exception's type."""
    found: list[list[str]] = []
    open_traceback = False
    for line in log.splitlines():
        if line.startswith("Traceback"):
            found.append([line])
            open_traceback = True
        elif open_traceback:
            found[-1].append(line)
            open_traceback = line.startswith((" ", "\t"))  # the first line not indented names the exception
    return ["\n".join(lines) for lines in found]


def report(result: SoakResult) -> str:
    lines = [
        f"load average before (1/5/15 min): {' '.join(f'{value:.2f}' for value in result.load_before)}",
        f"{result.clients} clients x {result.seconds:.0f} s",
        "fps per client: " + " ".join(f"{value:.1f}" for value in result.fps),
        f"fps: total {sum(result.fps):.1f}, median {statistics.median(result.fps):.1f}, "
        f"farthest client {result.fps_spread_percent:.1f}% from the median",
        f"round trip p50 {statistics.median(result.rtt_p50_ms):.0f} ms, p95 (median over clients) "
        f"{statistics.median(result.rtt_p95_ms):.0f} ms, worst client p95 {max(result.rtt_p95_ms):.0f} ms",
        f"client errors: {result.client_errors}",
        f"trickle: {result.images} image swaps, {result.videos} video jobs, errors: {result.trickle_errors or 'none'}",
        "server RSS MiB: " + " ".join(f"{value:.0f}" for value in result.rss_mib),
        f"RSS growth, first third to last third (medians): {result.growth_percent:+.2f}%",
        *(f"server traceback:\n{text}" for text in result.server_tracebacks),
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=30.0, help="most frames per second per client")
    parser.add_argument("--image-every", type=float, default=15.0, help="seconds between image swaps")
    parser.add_argument("--video-every", type=float, default=60.0, help="seconds between video jobs")
    parser.add_argument("--sample-s", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--warm-up-s", type=float, default=20.0, help="seconds of load before the first RSS sample")
    parser.add_argument("--nice", type=int, default=0, help="run the server at this niceness")
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    result = run(args)
    print(report(result))
    if args.json:
        print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
