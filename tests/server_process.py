"""`plasticvision serve` in a subprocess, for benchmarks and the network tests: the server gets its own
process (and GIL), as in production, so the clients and the link proxy do not compete with it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib import error, request

START_TIMEOUT_S = 60


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; NaN elsewhere): the cost per frame, whatever the load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server_process(port: int, engine: str = "dlib", data_dir: Path | None = None) -> Iterator[subprocess.Popen]:
    """A running server on 127.0.0.1:`port` (its data in `data_dir` when given), stopped afterwards."""
    command = [str(Path(sys.executable).with_name("plasticvision")), "serve", "--engine", engine, "--port", str(port)]
    env = os.environ | ({"PLASTICVISION_DATA_DIR": str(data_dir)} if data_dir else {})
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            try:
                request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
                break
            except (error.URLError, OSError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=20)
