"""Many servers on loopback, for the deployment tests: Redis, `plasticvision serve` replicas and
Debian's nginx running the shipped `deploy/nginx/plasticvision.conf`.

The shipped config is used as it is, but for what must differ on a test machine: its listen port,
the replicas' ports and its log path (rewritten here), plus a minimal main config that keeps
nginx's pid, logs and temp files in the test's folder. Every process is stopped at the end.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from tests.support.live_uvicorn import free_port
from tests.support.optional_parts import need_binary
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess, start_server, wait_until_up

SITE_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "plasticvision.conf"
REPLICA_START_TIMEOUT_S = 90  # a replica imports the app and loads dlib's models; CI machines are slow

MAIN_CONFIG = """
{user}
worker_processes 1;
error_log {folder}/error.log warn;
pid {folder}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/plasticvision.conf;
}}
"""


def start_replica(folder: Path, redis_url: str) -> ServerProcess:
    """One `plasticvision serve --log-format json` process on Redis; its log says what it served."""
    port = free_port()
    env = {"PLASTICVISION_REDIS_URL": redis_url, "PLASTICVISION_WORKERS": "1", "PLASTICVISION_LOG_FORMAT": "json"}
    return start_server(folder / f"data-{port}", folder / f"replica-{port}.log", port=port, env=env)


def site_config(ports: list[int], listen: int, folder: Path) -> str:
    """The shipped site config with this test's ports and log path."""
    text = SITE_CONFIG.read_text()
    servers = "".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;\n" for port in ports)
    text, count = re.subn(r"(    server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, text)
    assert count == 1, "the upstream's server lines moved: update tests/support/fleet.py"
    text = plain_http(text, listen)
    return text.replace("/var/log/nginx/plasticvision.access.log", str(folder / "access.log"))


def plain_http(text: str, listen: int) -> str:
    """The TLS site on a plain loopback port (tests have no certificate): the port-80 redirect and the
    ssl_ lines go; everything else (headers, limits, locations) is tested as shipped."""
    text, count = re.subn(r"server \{\n    listen 80;.*?\n\}\n\n", "", text, flags=re.S)
    assert count == 1, "the port-80 redirect block moved: update tests/support/fleet.py"
    text = re.sub(r"    listen 443 ssl http2;[^\n]*\n", f"    listen 127.0.0.1:{listen};\n", text)
    text = re.sub(r"\n    (listen \[::\]:443 ssl http2|ssl_[a-z_]+ [^\n]*);", "", text)
    return re.sub(r"\n    # ssl_[^\n]*", "", text)


class Nginx:
    def __init__(self, folder: Path, ports: list[int]) -> None:
        self.binary = need_binary("nginx", "nginx")
        self.folder = folder
        self.port = free_port()
        (folder / "plasticvision.conf").write_text(site_config(ports, self.port, folder))
        user = "user root;" if os.geteuid() == 0 else ""  # as root, workers would be `nobody`: no access here
        (folder / "nginx.conf").write_text(MAIN_CONFIG.format(folder=folder, user=user))
        command = [self.binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refuses the shipped config: {check.stderr}")
        self.process = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: {(folder / 'error.log').read_text()}")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answers(self) -> bool:
        try:
            httpx.get(self.url + "/", timeout=1)
            return True
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight, then exit
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def fleet(folder: Path, replicas: int = 2) -> Iterator[tuple[Nginx, list[ServerProcess]]]:
    """Redis, the replicas (started together) and nginx in front of them; all stopped afterwards."""
    with ExitStack() as running:
        redis_server = running.enter_context(RedisServer(folder))
        started = [start_replica(folder, redis_server.url) for _ in range(replicas)]
        for replica in started:
            running.callback(replica.stop)
        for replica in started:
            wait_until_up(replica, REPLICA_START_TIMEOUT_S)
        nginx = Nginx(folder, [replica.port for replica in started])
        running.callback(nginx.stop)
        yield nginx, started
