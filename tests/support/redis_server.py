"""A real `redis-server` on a free loopback port, in a temporary folder, for the session-store tests.

`RedisServer` can be stopped and started again on the same port (a Redis restart mid-test); with
`persist=True` it keeps its data across that restart in an append-only file, as a production
Redis would. It is always stopped when the `with` block ends.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from tests.support.live_uvicorn import free_port
from tests.support.optional_parts import need_binary, need_module

START_TIMEOUT_S = 10


class RedisServer:
    def __init__(self, folder: Path, *, persist: bool = True) -> None:
        need_module("redis", "redis")
        self.binary = need_binary("redis-server", "redis-server")
        self.folder = folder
        self.persist = persist
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder), "--save", ""]
        args += ["--appendonly", "yes" if self.persist else "no", "--appendfsync", "always"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
