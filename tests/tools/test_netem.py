"""The emulated link (`plasticvision.tools.netem`): bytes arrive intact, a round trip takes the delay, and a
bandwidth cap holds a transfer to the link's rate."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from plasticvision.tools.netem import emulated_link


@pytest.fixture
def echo_server() -> Iterator[str]:
    """A TCP server that sends back what it receives, one connection at a time."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        data += sock.recv(size - len(data))
    return data


def test_a_round_trip_takes_the_links_delay(echo_server):
    with emulated_link(echo_server, rtt_ms=60) as url, connect(url) as sock:
        times = []
        for n in range(5):
            start = time.perf_counter()
            sock.sendall(b"ping %d" % n)
            assert receive(sock, 6) == b"ping %d" % n
            times.append((time.perf_counter() - start) * 1000)
    assert min(times) >= 58, times
    assert sorted(times)[2] < 150, f"far slower than the link: {times}"


def test_a_capped_link_carries_its_rate_and_the_bytes_intact(echo_server):
    payload = bytes(range(256)) * 1500  # 384 KB: 0.5 s each way at 6 Mbit/s
    with emulated_link(echo_server, rtt_ms=0, mbps=6) as url, connect(url) as sock:
        start = time.perf_counter()
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        echoed = receive(sock, len(payload))
        seconds = time.perf_counter() - start
        sender.join()
    assert echoed == payload
    assert seconds >= 0.45, f"{len(payload) * 8 / seconds / 1e6:.1f} Mbit/s through a 6 Mbit/s link"
    assert seconds < 3, f"{seconds:.1f} s: the cap is far below 6 Mbit/s"
