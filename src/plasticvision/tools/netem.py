"""An emulated network link on loopback: a TCP proxy that adds a one-way delay and a bandwidth cap.

This kernel has no `netem`, and the live stream must be tried over a home link, so tests and
benchmarks put this proxy between the client (the page, or `plasticvision.client`) and the
server. Each direction is its own link: bytes wait for their turn on the wire (the bandwidth
cap), then travel for the one-way delay. Like a router's, the link's buffer is small
(`buffer_ms` of traffic); when it is full the proxy stops reading, so TCP's flow control
pushes back to the sender instead of the proxy hiding an endless queue.

    python -m plasticvision.tools.netem --target 127.0.0.1:8000 --port 9000 --rtt 46 --mbps 6
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)

CHUNK = 16 * 1024  # bytes read at a time: small, so the cap spreads a frame over time as a wire does


@dataclass(frozen=True, slots=True)
class Link:
    """One direction: `delay_ms` one way; `mbps` None for no cap; `buffer_ms` of traffic queued at most."""

    delay_ms: float = 0.0
    mbps: float | None = None
    buffer_ms: float = 100.0

    def wire_seconds(self, size: int) -> float:
        return 0.0 if self.mbps is None else size * 8 / (self.mbps * 1e6)


async def carry(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: Link) -> None:
    """Move bytes one way through the link until the reader ends."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    wire_free_at = 0.0

    async def deliver() -> None:
        while (item := await queue.get()) is not None:
            due, data = item
            await asyncio.sleep(max(0.0, due - loop.time()))
            writer.write(data)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while data := await reader.read(CHUNK):
            now = loop.time()
            backlog = wire_free_at - now
            if backlog > link.buffer_ms / 1000:  # the link's buffer is full: stop reading for now
                await asyncio.sleep(backlog - link.buffer_ms / 1000)
                now = loop.time()
            wire_free_at = max(now, wire_free_at) + link.wire_seconds(len(data))
            queue.put_nowait((wire_free_at + link.delay_ms / 1000, data))
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    except asyncio.CancelledError:
        delivering.cancel()
        raise
    queue.put_nowait(None)  # what is on the wire still arrives, then the end
    try:
        await delivering
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


def no_delay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class LinkProxy:
    """Listens on 127.0.0.1:`port` (0 = any free one) and forwards every connection to the target."""

    def __init__(self, target: tuple[str, int], up: Link, down: Link | None = None, port: int = 0) -> None:
        self.target = target
        self.up, self.down = up, down or up
        self.port = port
        self.server: asyncio.Server | None = None
        self.connections: set[asyncio.Task] = set()

    @classmethod
    def symmetric(
        cls, target: tuple[str, int], rtt_ms: float = 0.0, mbps: float | None = None, port: int = 0
    ) -> LinkProxy:
        link = Link(delay_ms=rtt_ms / 2, mbps=mbps)
        return cls(target, link, link, port)

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self.connections.add(task)
        task.add_done_callback(self.connections.discard)
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError as exc:
            log.warning("netem: cannot reach %s:%d: %s", *self.target, exc)
            client_writer.close()
            return
        for writer in (client_writer, server_writer):
            no_delay(writer)
        try:
            await asyncio.gather(
                carry(client_reader, server_writer, self.up), carry(server_reader, client_writer, self.down)
            )
        except asyncio.CancelledError:
            pass  # `close` cut this connection; the task ends here (asyncio would log a cancelled handler)
        finally:
            for writer in (client_writer, server_writer):
                writer.close()

    async def close(self) -> None:
        """Stop listening and cut every connection still open."""
        if self.server is None:
            return
        self.server.close()
        for task in list(self.connections):
            task.cancel()
        await asyncio.gather(*self.connections, return_exceptions=True)
        await self.server.wait_closed()


@contextmanager
def emulated_link(target_url: str, rtt_ms: float = 0.0, mbps: float | None = None) -> Iterator[str]:
    """Yields an http://127.0.0.1:PORT URL that reaches `target_url` through the emulated link."""
    host, port = target_url.split("//", 1)[-1].rstrip("/").rsplit(":", 1)
    proxy = LinkProxy.symmetric((host, int(port)), rtt_ms, mbps)
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(proxy.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="netem", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the link proxy did not start")
    try:
        yield f"http://127.0.0.1:{proxy.port}"
    finally:
        asyncio.run_coroutine_threadsafe(proxy.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="127.0.0.1:8000", help="HOST:PORT of the server (default 127.0.0.1:8000)")
    parser.add_argument("--port", type=int, default=9000, help="loopback port to listen on (default 9000)")
    parser.add_argument("--rtt", type=float, default=46.0, help="round trip in ms, half each way (default 46)")
    parser.add_argument("--mbps", type=float, default=None, help="bandwidth cap per direction in Mbit/s (default none)")
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)

    async def serve() -> None:
        proxy = LinkProxy.symmetric((host, int(port)), args.rtt, args.mbps, args.port)
        await proxy.start()
        print(f"127.0.0.1:{proxy.port} -> {args.target}, {args.rtt:g} ms round trip, {args.mbps or 'no'} Mbit/s cap")
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
