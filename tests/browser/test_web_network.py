"""The page's live stream over emulated home links (plasticvision.tools.netem between Chromium and the
server): the camera's 30 fps whatever the distance, capture-to-display latency that stays low,
and a 6 Mbit/s link handled by lowering quality, with latency that stays bounded.

Here Chromium (software compositing, about 25-30 ms of CPU a frame), the server and the link proxy
share the two cores that, deployed, the browser would not share with the server: so the server
swaps one frame of a stream at a time (`PLASTICVISION_STREAM_PARALLEL_FRAMES=1`), and a 30 fps
check takes the better of two 5 s runs. What a link adds is measured against loopback in the same
test (frames in flight make the frame rate independent of the round trip: a client waiting for
each reply would get under 10 fps at 80 ms), because on these two cores loopback itself gives
26.5-29 fps; the issue's absolute targets (27 fps at 46 and 80 ms) are bench/live_network.py's, on a
machine where the browser has its own cores. The measured numbers go in the failure message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.network import measure_live
from tests.support.server_process import throwaway_server
from plasticvision.tools.netem import emulated_link

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """`plasticvision serve` in its own process, as deployed: the link proxy and the test's own
    Python do not share its interpreter lock."""
    with throwaway_server(env={"PLASTICVISION_STREAM_PARALLEL_FRAMES": "1"}) as server:
        yield server.url


@pytest.fixture
def run_over(open_app, server_url, data_dir):
    def run(rtt_ms: float, mbps: float | None = None, warm_up_s: float = 2.0, seconds: float = 5.0):
        with emulated_link(server_url, rtt_ms=rtt_ms, mbps=mbps) as url:
            return measure_live(open_app(url), data_dir / "Tom_Hanks_54745.png", warm_up_s, seconds)

    return run


def best_of_two(run_over, rtt_ms: float):
    """The faster of two runs: one 5 s window on a 2-core machine can lose a frame rate point to a
    neighbour's burst; a transport that cannot keep 27 fps fails both."""
    first = run_over(rtt_ms)
    return first if first.fps >= 27 else max(first, run_over(rtt_ms), key=lambda run: run.fps)


def test_loopback_keeps_the_cameras_30_fps(run_over):
    run = best_of_two(run_over, 0)
    fps = run.fps
    assert fps >= 27, run.summary()
    assert (run.quality, run.width) == (70, 640), f"loopback lowered the quality: {run.summary()}"


KEPT_RATE = 0.9  # of loopback's frame rate, over a link of any round trip
LINK_OVERHEAD_MS = 30  # what the link may add to the latency beyond its round trip (its proxy's hops)


def over_the_link(run_over, rtt_ms: float):
    """Loopback and the link, measured back to back; the link's run once more if it fell short (a
    neighbour's burst on two cores), as `best_of_two` does."""
    base, run = run_over(0), run_over(rtt_ms)
    if run.fps < KEPT_RATE * base.fps:
        run = max(run, run_over(rtt_ms), key=lambda again: again.fps)
    return base, run


@pytest.mark.parametrize("rtt_ms", [46, 80])
def test_a_round_trip_keeps_the_loopback_frame_rate_and_adds_only_itself_to_the_latency(run_over, rtt_ms):
    base, run = over_the_link(run_over, rtt_ms)
    compared = f"{run.summary()} | loopback: {base.summary()}"
    assert run.fps >= KEPT_RATE * base.fps, compared
    assert run.latency_p50 < base.latency_p50 + rtt_ms + LINK_OVERHEAD_MS, compared
    if rtt_ms == 46:
        assert "network 4" in run.link_line or "network 5" in run.link_line, run.link_line  # the link's ~46 ms seen


def test_a_6_mbit_link_lowers_quality_and_keeps_latency_bounded(run_over):
    """640x480 q70 frames need about 8 Mbit/s each way at 30 fps: the page must send smaller ones."""
    run = run_over(46, mbps=6, warm_up_s=4.0, seconds=12.0)
    fps, p95 = run.fps, run.latency_p95
    assert fps >= 20, run.summary()
    assert p95 < 250, run.summary()
    first, second, third = run.p95_by_part(3)
    # A queue filling up adds latency all through the run; one step to a plateau (the page settling
    # on a smaller frame) is what p95 < 250 above already bounds.
    growing = second > first + 30 and third > second + 30
    assert not growing, f"latency grows over the run (p95 by thirds {first:.0f}, {second:.0f}, {third:.0f} ms)"
    assert run.quality < 70 or run.width < 640, f"quality was not lowered: {run.summary()}"
    assert run.width >= 320
    assert "network limited" in run.link_line, run.link_line
