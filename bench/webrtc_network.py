"""WebRTC next to the WebSocket over the same emulated links, in one run: fps, latency and wire bitrate.

Starts `plasticvision serve` (dlib engine), coturn, and for each link the UDP relay
(`netem_udp`, in front of coturn: the WebRTC client may only use TURN, so all its media cross
the link) and the TCP link proxy (`netem`, for the WebSocket). Both clients are the Python ones
(`plasticvision.client` and `plasticvision.client.webrtc`), streaming the same 640x480 frame at
30 fps. Latency is capture to arrival of the swapped frame; bitrate is what crossed the link
each way (UDP: with IP/UDP headers; TCP: payload). The TCP proxy cannot drop packets (TCP would
resend them anyway), so the WebSocket's lossy rows show delay only.

Each link has two WebRTC rows: "aiortc" is a second server and client left as aiortc sets them
up (its jitter buffer and encoders: `bench.aiortc_defaults`), "WebRTC" is ours
(`plasticvision.client.jitter`, `plasticvision.client.live_encoder`), measured one after the
other in the same run. Under each WebRTC row, where the latency goes: `server` is a frame's
time in the server (decoded frame in to swapped frame out, from its /metrics), `rest` the p50
less that (the client's encode and decode, both links, the server's decode and encode, and
both jitter buffers). Under ours, each direction's loss recovery (`bench.webrtc_counts`): packets
the link lost, NACKed by the receiver, resent by the sender, repaired in time or late, holes given
up, frames dropped after one until a keyframe came, keyframes asked for; frames encoded and
decoded. Counts, unlike fps, compare between runs on a loaded machine.

    python -m bench.webrtc_network [--duration 10] [--links 0 80/0 80/1 80/1/2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import cv2
import httpx

from tests.client.test_client import stream_for
from tests.support.faces import on_canvas
from tests.support.server_process import throwaway_server
from tests.support.turn_server import SECRET, turn_server

from bench import webrtc_counts
from bench.aiortc_defaults import FOLDER as UNTUNED, untuned
from bench.webrtc_counts import COUNTS_FILE_ENV
from plasticvision.client import StreamClient
from plasticvision.client.webrtc import WhipClient
from plasticvision.tools.netem import running_proxy
from plasticvision.tools.netem_udp import UdpLink, udp_link

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
LINKS = ((0, 0.0, None), (80, 0.01, None), (80, 0.01, 2.0))  # (rtt ms, loss, Mbit/s cap)
SESSION = "bench-webrtc"
WARM_UP_S = 3.0


def row(name: str, fps: float, p50: float, p95: float, up_bytes: int, down_bytes: int, seconds: float) -> str:
    up, down = up_bytes * 8 / seconds / 1e6, down_bytes * 8 / seconds / 1e6
    return f"  {name:9s} {fps:5.1f} fps  latency p50 {p50:5.0f} ms  p95 {p95:5.0f} ms  up {up:5.2f} Mbit/s  down {down:5.2f} Mbit/s"


def percentiles(latencies: list[float]) -> tuple[float, float]:
    if len(latencies) < 2:
        return float("nan"), float("nan")
    return statistics.median(latencies), statistics.quantiles(latencies, n=20)[-1]


def websocket_row(url: str, rtt: float, mbps: float | None, frame, seconds: float) -> str:
    with running_proxy(url, rtt, mbps) as proxy:
        client = StreamClient(f"http://127.0.0.1:{proxy.port}", session_id=SESSION)
        with client.open_stream() as live:
            replies = stream_for(live, frame, WARM_UP_S)
            before, start = (proxy.sent_up.bytes, proxy.sent_down.bytes), time.monotonic()
            replies = stream_for(live, frame, seconds)
            elapsed = time.monotonic() - start
            up, down = proxy.sent_up.bytes - before[0], proxy.sent_down.bytes - before[1]
    p50, p95 = percentiles([reply.latency_ms for reply in replies])
    return row("WebSocket", len(replies) / elapsed, p50, p95, up, down, elapsed)


def server_time_s(url: str) -> tuple[float, float]:
    """(seconds, frames) the server has spent from a frame's arrival to its result leaving, from /metrics."""
    values = {}
    for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("plasticvision_stream_round_trip_seconds_"):
            values[name.rsplit("_", 1)[1]] = float(value)
    return values.get("sum", 0.0), values.get("count", 0.0)


def counts_line(name: str, lost: int, receiver: Counter[str], sender: Counter[str]) -> str:
    """One direction's loss recovery: what the link lost, what its receiver asked for and got, and what its
    sender was asked for."""
    return (
        f"  {'':9s} {name}: lost {lost}, nacked {receiver['nacked']}, resent {sender['retransmitted']}, repaired"
        f" {receiver['repaired']}, late {receiver['late']}, holes {receiver['holes']}, unusable {receiver['unusable']},"
        f" keyframes asked {sender['keyframes asked']}; frames encoded {sender['encoded']}, decoded {receiver['decoded']}"
    )


async def webrtc_row(name: str, url: str, relay, frame, seconds: float, counts_file: str | None = None) -> str:
    """A WebRTC row; with `counts_file` (the server's `bench.webrtc_counts`), each direction's loss recovery under it."""
    async with WhipClient(url, session=SESSION, relay_only=True) as client:
        link = await client.publish(lambda: frame)
        await link.next_frame(30)
        await asyncio.sleep(WARM_UP_S)
        count, samples, start = link.received, len(link.samples), time.monotonic()
        before = (relay.sent_up.bytes, relay.sent_down.bytes, relay.sent_up.lost, relay.sent_down.lost)
        served = server_time_s(url)
        ours, theirs = Counter(webrtc_counts.COUNTS), webrtc_counts.read(counts_file) if counts_file else Counter()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - start
        up, down = relay.sent_up.bytes - before[0], relay.sent_down.bytes - before[1]
        served = tuple(after - was for after, was in zip(server_time_s(url), served))
        p50, p95 = percentiles([ms for _, ms in link.samples[samples:]])
        server_ms = served[0] / max(served[1], 1) * 1000
        text = row(name, (link.received - count) / elapsed, p50, p95, up, down, elapsed)
        text += f"\n  {'':9s} server {server_ms:4.0f} ms  rest {p50 - server_ms:4.0f} ms"
        if counts_file:
            ours, theirs = webrtc_counts.COUNTS - ours, webrtc_counts.read(counts_file) - theirs
            text += "\n" + counts_line("up", relay.sent_up.lost - before[2], theirs, ours)
            text += "\n" + counts_line("down", relay.sent_down.lost - before[3], ours, theirs)
        return text


def parse_link(text: str) -> tuple[float, float, float | None]:
    """`RTT[/LOSS%[/MBPS]]`, e.g. `80/1/2`: 80 ms round trip, 1 % loss, 2 Mbit/s cap."""
    parts = text.split("/")
    try:
        rtt, loss, mbps = [float(part) for part in parts] + [0.0] * (3 - len(parts))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: give RTT[/LOSS%[/MBPS]] as numbers, e.g. 80/1/2") from None
    if rtt < 0 or not 0 <= loss < 100 or mbps < 0:
        raise argparse.ArgumentTypeError(f"{text}: a round trip and a cap of 0 or more, and a loss below 100 %")
    return rtt, loss / 100, mbps or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per row (default 10)")
    parser.add_argument(
        "--links", nargs="+", type=parse_link, default=LINKS, metavar="RTT[/LOSS%[/MBPS]]",
        help="links to measure, e.g. 0 80/0 80/1 80/1/2 (default: 0 80/1 80/1/2)",
    )
    args = parser.parse_args()
    webrtc_counts.counting()
    frame = on_canvas(cv2.imread(str(DATA / "astronaut.png")), 400, (120, 40))
    print(f"{os.cpu_count()} CPU cores, dlib engine, 640x480 at 30 fps, Python clients")
    print("load average before (1/5/15 min): %.2f %.2f %.2f" % os.getloadavg())
    with turn_server() as turn_port, udp_link(("127.0.0.1", turn_port)) as relay, tempfile.TemporaryDirectory() as folder:
        counts_file = str(Path(folder) / "server-counts.json")
        env = {"PLASTICVISION_ICE_SERVERS": json.dumps([f"turn:127.0.0.1:{relay.port}"]), "PLASTICVISION_TURN_SECRET": SECRET}
        untuned_env = {**env, "PYTHONPATH": os.pathsep.join([str(UNTUNED), str(ROOT)])}
        counted_env = {**env, "PYTHONPATH": os.pathsep.join([str(webrtc_counts.FOLDER), str(ROOT)]), COUNTS_FILE_ENV: counts_file}
        with throwaway_server(env=counted_env) as server, throwaway_server(env=untuned_env) as baseline:
            for url in (server.url, baseline.url):
                with open(DATA / "Tom_Hanks_54745.png", "rb") as image:
                    httpx.post(url + "/upload-source-faces", files={"files": image}, headers={"X-Session-Id": SESSION}, timeout=60)
            for rtt, loss, mbps in args.links:
                print(f"{rtt:g} ms round trip, {loss:.0%} loss (UDP only), " + (f"{mbps:g} Mbit/s cap" if mbps else "no cap"))
                relay.change(UdpLink(delay_ms=rtt / 2, loss=loss, mbps=mbps))
                print(websocket_row(server.url, rtt, mbps, frame, args.duration), flush=True)
                with untuned():
                    print(asyncio.run(webrtc_row("aiortc", baseline.url, relay, frame, args.duration)), flush=True)
                print(asyncio.run(webrtc_row("WebRTC", server.url, relay, frame, args.duration, counts_file)), flush=True)
    print("load average after (1/5/15 min): %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
