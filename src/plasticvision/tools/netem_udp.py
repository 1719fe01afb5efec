"""An emulated network link for UDP on loopback: a relay that adds delay, random loss and a bandwidth cap.

The UDP twin of `netem`'s TCP proxy, for WebRTC. It listens on 127.0.0.1:`port` and forwards
every datagram to the target (a TURN server in the tests: clients that may only use TURN then
send all their media through this relay), each client address through its own upstream socket
so the target tells the clients apart. Each direction is its own link: a datagram is lost with
probability `loss`, waits for its turn on the wire (the cap), then travels for the one-way delay;
when `buffer_ms` of traffic already waits, it is dropped, as a router's full queue drops.

    python -m plasticvision.tools.netem_udp --target 127.0.0.1:3478 --port 3479 --rtt 80 --loss 0.01 --mbps 2
"""

from __future__ import annotations

import argparse
import asyncio
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from plasticvision.tools.netem import background_loop

Address = tuple[str, int]
UDP_IP_HEADERS = 28  # bytes of IPv4 + UDP header each datagram also puts on the wire


@dataclass(frozen=True, slots=True)
class UdpLink:
    """One direction: `delay_ms` one way, `loss` in 0..1, `mbps` None for no cap, `buffer_ms` queued at most."""

    delay_ms: float = 0.0
    loss: float = 0.0
    mbps: float | None = None
    buffer_ms: float = 100.0


@dataclass
class Direction:
    """A link's state: when the wire is next free, and what it carried and dropped."""

    link: UdpLink
    rng: random.Random
    wire_free_at: float = 0.0
    bytes: int = 0
    datagrams: int = 0
    lost: int = 0
    overflowed: int = 0

    def schedule(self, now: float, size: int) -> float | None:
        """When a datagram of `size` bytes sent `now` arrives, or None when the link drops it."""
        if self.rng.random() < self.link.loss:
            self.lost += 1
            return None
        wire_s = 0.0 if self.link.mbps is None else (size + UDP_IP_HEADERS) * 8 / (self.link.mbps * 1e6)
        if self.wire_free_at - now > self.link.buffer_ms / 1000:
            self.overflowed += 1
            return None
        self.wire_free_at = max(now, self.wire_free_at) + wire_s
        self.bytes += size + UDP_IP_HEADERS
        self.datagrams += 1
        return self.wire_free_at + self.link.delay_ms / 1000


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, Address], None]) -> None:
        self.on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.on_datagram(data, addr)


@dataclass
class UdpRelay:
    """Listens on 127.0.0.1:`port` (0 = any free one) and relays datagrams to and from `target`."""

    target: Address
    up: UdpLink
    down: UdpLink
    port: int = 0
    seed: int = 1
    upstream: dict[Address, asyncio.DatagramTransport] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self.sent_up, self.sent_down = Direction(self.up, rng), Direction(self.down, rng)
        self.listener: asyncio.DatagramTransport | None = None

    async def start(self) -> int:
        self.loop = asyncio.get_running_loop()
        self.listener, _ = await self.loop.create_datagram_endpoint(
            lambda: _Receiver(self.from_client), local_addr=("127.0.0.1", self.port)
        )
        self.port = self.listener.get_extra_info("sockname")[1]
        return self.port

    def change(self, up: UdpLink, down: UdpLink | None = None) -> None:
        """New link conditions from the next datagram on (one relay serves a test module's several links)."""
        self.sent_up.link, self.sent_down.link = up, down or up

    def from_client(self, data: bytes, client: Address) -> None:
        transport = self.upstream.get(client)
        if transport is None:
            self.loop.create_task(self.open_upstream(client, data))
            return
        self.carry(self.sent_up, data, transport.sendto)

    async def open_upstream(self, client: Address, first: bytes) -> None:
        if client not in self.upstream:
            transport, _ = await self.loop.create_datagram_endpoint(
                lambda: _Receiver(lambda data, _addr: self.from_target(data, client)), remote_addr=self.target
            )
            self.upstream[client] = transport
        self.carry(self.sent_up, first, self.upstream[client].sendto)

    def from_target(self, data: bytes, client: Address) -> None:
        if self.listener is not None:
            self.carry(self.sent_down, data, lambda payload: self.listener.sendto(payload, client))

    def carry(self, direction: Direction, data: bytes, send: Callable[[bytes], None]) -> None:
        now = self.loop.time()
        due = direction.schedule(now, len(data))
        if due is not None:
            self.loop.call_at(due, send, data)

    def close(self) -> None:
        for transport in [*self.upstream.values(), self.listener]:
            if transport is not None:
                transport.close()
        self.upstream.clear()
        self.listener = None


@contextmanager
def udp_link(
    target: Address, rtt_ms: float = 0.0, loss: float = 0.0, mbps: float | None = None, port: int = 0
) -> Iterator[UdpRelay]:
    """A running relay (its own thread and event loop) with the same link both ways; `.port` to send to."""
    link = UdpLink(delay_ms=rtt_ms / 2, loss=loss, mbps=mbps)
    relay = UdpRelay(target, link, link, port)
    with background_loop("netem-udp") as loop:
        asyncio.run_coroutine_threadsafe(relay.start(), loop).result(10)
        try:
            yield relay
        finally:
            loop.call_soon_threadsafe(relay.close)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="127.0.0.1:3478", help="HOST:PORT to relay to (default: coturn's)")
    parser.add_argument("--port", type=int, default=3479, help="loopback UDP port to listen on (default 3479)")
    parser.add_argument("--rtt", type=float, default=80.0, help="round trip in ms, half each way (default 80)")
    parser.add_argument("--loss", type=float, default=0.01, help="share of datagrams lost each way (default 0.01)")
    parser.add_argument("--mbps", type=float, default=None, help="bandwidth cap per direction in Mbit/s")
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    with udp_link((host, int(port)), args.rtt, args.loss, args.mbps, args.port) as relay:
        print(f"udp 127.0.0.1:{relay.port} -> {args.target}, {args.rtt:g} ms round trip, {args.loss:.1%} loss")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
