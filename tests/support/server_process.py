"""`plasticvision serve` as a real child process, for the fault and network tests and the benchmarks.

A separate process can be killed with SIGKILL, starved of disk and measured (resident memory,
open files) without the test's own allocations in the numbers; its log goes to a file that
the tests read for 500s and tracebacks. The server gets its own process (and GIL), as in production,
so clients and the link proxy do not compete with it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.live_uvicorn import free_port

START_TIMEOUT_S = 60


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; NaN elsewhere): the cost per frame, whatever the load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class ServerProcess:
    process: subprocess.Popen
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def status_kib(self, field: str) -> int:
        """A field of /proc/PID/status in KiB, e.g. VmRSS (resident now) or VmHWM (the peak)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        raise KeyError(field)

    def rss_mib(self) -> float:
        return self.status_kib("VmRSS") / 1024

    def peak_mib(self) -> float:
        return self.status_kib("VmHWM") / 1024

    def open_files(self) -> list[str]:
        """What the process's descriptors point at (files, sockets, pipes)."""
        folder = Path(f"/proc/{self.pid}/fd")
        targets = []
        for fd in folder.iterdir():
            try:
                targets.append(os.readlink(fd))
            except OSError:  # closed while we looked
                continue
        return targets

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def request_log(self) -> list[dict]:
        """The JSON access lines (`--log-format json`: route, status, request_id, session) it has written."""
        lines = []
        for text in self.log().splitlines():
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if isinstance(line, dict) and line.get("logger") == "plasticvision.access":
                lines.append(line)
        return lines

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine loses power or the OOM killer strikes."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until_up(server: ServerProcess, timeout_s: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            httpx.get(server.url + "/", timeout=2)
            return
        except httpx.TransportError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"the server did not start:\n{server.log()[-3000:]}")
            time.sleep(0.2)


def start_server(
    data_dir: Path,
    log_path: Path,
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
    nice: int = 0,
) -> ServerProcess:
    """Start the server on `port` (a free one by default) with its data in `data_dir`; not waited for."""
    port = port or free_port()
    environment = {
        **os.environ,
        "PLASTICVISION_DATA_DIR": str(data_dir),
        "PLASTICVISION_ENGINE": "dlib",
        "PLASTICVISION_PORT": str(port),
        **(env or {}),
    }
    command = [sys.executable, "-m", "plasticvision", "serve"]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, env=environment, stdout=log, stderr=subprocess.STDOUT, preexec_fn=preexec_fn
        )
    return ServerProcess(process, f"http://127.0.0.1:{port}", log_path)


@contextmanager
def server_process(data_dir: Path, log_path: Path, **options: Any) -> Iterator[ServerProcess]:
    """A started server (`start_server`'s options), up and answering; stopped at the end."""
    server = start_server(data_dir, log_path, **options)
    try:
        wait_until_up(server)
        yield server
    finally:
        server.stop()


@contextmanager
def throwaway_server(
    port: int | None = None, engine: str = "dlib", env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    """A server whose data and log live in a temporary folder, removed afterwards (benchmarks, network tests)."""
    with tempfile.TemporaryDirectory(prefix="plasticvision-server-") as folder:
        env = {"PLASTICVISION_ENGINE": engine, **(env or {})}
        with server_process(Path(folder) / "data", Path(folder) / "server.log", port=port, env=env) as server:
            yield server
