"""Redis memory per session: what one user's faces and settings cost in a shared Redis.

Starts a throw-away `redis-server` (Debian's, on a free loopback port, no persistence), stores
`--sessions` sessions of each kind through the server's own `RedisStore` and `SessionSync`, and
prints `MEMORY USAGE` of one session's key and Redis' `used_memory` growth per session. The
baseline, from the same run, is the raw size of the uploaded pixels (HxWx3 bytes per image),
and `ms/session` is the time to store one (encoding included; preparing the faces excluded).

    python -m bench.redis_session_memory [--sessions 20] [--engine dlib]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import cv2

from plasticvision import FaceSwapper
from plasticvision.pipeline.session import SourceUpload
from plasticvision.server.sessions.redis_store import RedisStore, key
from plasticvision.server.sessions.registry import SessionRegistry

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
KINDS = {  # name -> source images of one session
    "settings only": [],
    "1 source (112 px crop)": ["Tom_Hanks_54745.png"],
    "1 source (512 px photo)": ["astronaut.png"],
    "3 sources (512 px photos)": ["astronaut.png"] * 3,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def used_memory(store: RedisStore) -> int:
    return int(store._client.info("memory")["used_memory"])  # noqa: SLF001 - a benchmark may look inside


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20, help="sessions of each kind (default 20)")
    parser.add_argument("--engine", default="dlib")
    args = parser.parse_args()
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        redis = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            run(f"redis://127.0.0.1:{port}/0", args.sessions, args.engine)
        finally:
            redis.terminate()
            redis.wait()


def run(url: str, count: int, engine: str) -> None:
    store = RedisStore(url)
    swapper = FaceSwapper(engine)
    registry = SessionRegistry(
        swapper, max_sessions=count * len(KINDS) + 2, idle_s=600, max_connections=1,
        max_connections_per_session=1, store=store,
    )
    images = {name: cv2.imread(str(DATA / name)) for names in KINDS.values() for name in names}
    prepared = {name: swapper.engine.prepare_source(image) for name, image in images.items()}
    print(f"engine {engine}, {count} sessions of each kind")
    print(f"{'session':28} {'MEMORY USAGE':>13} {'used_memory':>12} {'x raw pixels':>13} {'ms/session':>11}")
    for kind, names in KINDS.items():
        before = used_memory(store)
        stored_ms = 0.0
        for index in range(count):
            session = registry.get(f"{kind[:1]}-{index}-{len(names)}")
            session.update_settings({"sharpness": 0.5, "swap_all": True})
            if names:
                upload = SourceUpload(tuple(images[n] for n in names), tuple(prepared[n] for n in names))
                started = time.perf_counter()
                registry.sync.record(f"{kind[:1]}-{index}-{len(names)}", "sources", upload)
                stored_ms += (time.perf_counter() - started) * 1000
        per_session = (used_memory(store) - before) / count
        one = store._client.memory_usage(key(f"{kind[:1]}-0-{len(names)}"), samples=0)  # noqa: SLF001
        raw = sum(images[n].nbytes for n in names)
        ratio = f"{one / raw:12.2f}x" if raw else f"{'-':>13}"
        print(f"{kind:28} {one / 1024:9.1f} KiB {per_session / 1024:8.1f} KiB {ratio} {stored_ms / count:10.1f}")
    store.close()


if __name__ == "__main__":
    main()
