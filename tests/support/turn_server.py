"""Debian's coturn on loopback, for WebRTC over the emulated UDP link (`plasticvision.tools.netem_udp`).

Clients told to use only TURN (`relay_only`, the page's `?ice=relay`) send every packet to the
TURN server; with the UDP relay in front of it, all their media cross the emulated link both ways.
Credentials are coturn's time-limited kind, made from a shared secret, as in deploy/coturn.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.optional_parts import need_binary

SECRET = "plasticvision-test-secret"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers_stun(port: int) -> bool:
    """Whether a STUN binding request to 127.0.0.1:`port` is answered (coturn is up)."""
    request = struct.pack("!HHI12s", 0x0001, 0, 0x2112A442, os.urandom(12))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.2)
        probe.sendto(request, ("127.0.0.1", port))
        try:
            return probe.recv(2048)[4:20] == request[4:20]
        except OSError:
            return False


@contextmanager
def turn_server(secret: str = SECRET) -> Iterator[int]:
    """A running coturn listening on 127.0.0.1 (UDP); yields its port."""
    binary = need_binary("turnserver", "coturn")
    port = free_udp_port()
    with tempfile.TemporaryDirectory(prefix="plasticvision-turn-") as folder:
        log = Path(folder) / "turn.log"
        command = [
            binary, "-n", "--listening-ip=127.0.0.1", f"--listening-port={port}", "--relay-ip=127.0.0.1",
            "--min-port=49160", "--max-port=49660", "--use-auth-secret", f"--static-auth-secret={secret}",
            "--realm=plasticvision", "--no-tls", "--no-dtls", "--no-tcp", "--no-cli", "--fingerprint",
            "--allow-loopback-peers", "--no-software-attribute", f"--log-file={log}", "--simple-log",
            f"--pidfile={Path(folder) / 'turn.pid'}", f"--userdb={Path(folder) / 'turn.db'}",
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 10
            while not answers_stun(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    said = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    raise RuntimeError(f"coturn did not start: {said}")
                time.sleep(0.1)
            yield port
        finally:
            process.terminate()
            process.wait(10)
