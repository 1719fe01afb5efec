"""The page's live stream over emulated links: fps, capture-to-display latency and dropped frames.

Starts `plasticvision serve`, then real Chromium (fake webcam: the astronaut, 640x480 at 30 fps)
opens the web app through `plasticvision.tools.netem` for each link: round trips of 0, 46, 80 and 120
ms, and a 6 Mbit/s link at 46 ms. Each link is measured with the page as shipped and with the
page limited to one frame in flight (`?inflight=1`, how the page streamed before: the baseline)
in the same run. The 6 Mbit/s rows also print the latency p95 in each third of the run, which
rises if a queue grows.

    python -m bench.live_network [--duration 10] [--link-duration 30] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import cv2
from playwright.sync_api import sync_playwright

from tests.browser.browser_app import AppPage
from tests.browser.conftest import CHROMIUM_FLAGS, VIEWPORT
from tests.browser.fake_webcam import webcam_frame, write_y4m
from tests.browser.network import measure_live
from tests.support.server_process import throwaway_server

from plasticvision.tools.netem import emulated_link

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
LINKS = ((0, None), (46, None), (80, None), (120, None), (46, 6.0))
CLIENTS = (("page", ""), ("1 in flight", "?inflight=1"))
WARM_UP_S = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per row (default 10)")
    parser.add_argument("--link-duration", type=float, default=30.0, help="seconds for the 6 Mbit/s rows (default 30)")
    parser.add_argument("--chromium", default=os.environ.get("PLASTICVISION_CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--port", type=int, default=8767)
    args = parser.parse_args()

    clip = write_y4m(Path(tempfile.mkdtemp()) / "astronaut.y4m", webcam_frame(cv2.imread(str(DATA / "astronaut.png"))))
    print(f"{os.cpu_count()} CPU cores, dlib engine, Chromium fake webcam 640x480 at 30 fps")
    print("load average before (1/5/15 min): %.2f %.2f %.2f" % os.getloadavg())  # others' work skews the numbers
    with throwaway_server(args.port) as _, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium,
            headless=True,
            args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={clip}"],
        )
        for rtt, mbps in LINKS:
            link = f"{rtt:3d} ms" + (f", {mbps:g} Mbit/s" if mbps else "")
            seconds = args.link_duration if mbps else args.duration
            for name, query in CLIENTS:
                with emulated_link(f"http://127.0.0.1:{args.port}", rtt, mbps) as url:
                    context = browser.new_context(viewport=VIEWPORT)
                    context.set_default_timeout(30_000)
                    run = measure_live(
                        AppPage(context.new_page()).open(url + query), DATA / "Tom_Hanks_54745.png", WARM_UP_S, seconds
                    )
                    context.close()
                thirds = ", p95 by thirds " + "/".join(f"{ms:.0f}" for ms in run.p95_by_part(3)) if mbps else ""
                print(f"{link:<16} {name:<12} {run.summary()}{thirds}", flush=True)
        browser.close()
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
