"""The page's live stream over WebRTC (WHIP) against a real server process, in Chromium with the fake
webcam: WebRTC is the default where the server offers it, the swapped face comes back, the meters
show fps, latency (end to end, from the capture time stamped above each frame), bitrate and loss;
stopping frees the stream slot; through coturn behind the emulated UDP link at 80 ms / 1 % loss the
stream holds; and when ICE fails the page carries on over the WebSocket.

Chromium, the server and coturn share two cores here: the bounds are loose, bench/ has the numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import cv2
import httpx
import pytest

from tests.support.faces import distance, identity
from tests.browser.network import measure_live
from tests.support.optional_parts import need_module
from plasticvision.client import stamp as frame_stamp
from plasticvision.tools.netem_udp import UdpLink, udp_link
from tests.support.server_process import throwaway_server
from tests.support.turn_server import SECRET, turn_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def network() -> Iterator[tuple[str, object]]:
    """A server whose ICE servers name a UDP relay in front of coturn: (url, relay)."""
    need_module("aiortc", "webrtc")
    with turn_server() as turn_port, udp_link(("127.0.0.1", turn_port)) as relay:
        env = {
            "PLASTICVISION_ICE_SERVERS": json.dumps([f"turn:127.0.0.1:{relay.port}"]),
            "PLASTICVISION_TURN_SECRET": SECRET,
            "PLASTICVISION_STREAM_PARALLEL_FRAMES": "1",  # Chromium needs the other core
        }
        with throwaway_server(env=env) as server:
            yield server.url, relay


def test_webrtc_is_the_default_and_the_swapped_face_comes_back(
    open_app, network, data_dir, swapper, read_test_image, camera_frame
):
    url, _ = network
    app = open_app(url, transport=None)
    assert app.testid("transport").input_value() == "webrtc"
    run = measure_live(app, data_dir / "Tom_Hanks_54745.png", warm_up_s=2.0, seconds=4.0)
    assert run.fps >= 5 and run.latency_p50 < 1000, run.summary()
    assert "WebRTC" in run.link_line
    app.testid("start-camera").click()  # measure_live stopped it; take one more look at a live frame
    app.wait_for_frames(5)
    stats = app.stats()
    assert stats["link"]["sentMbps"] > 0.05 and stats["link"]["receivedMbps"] > 0.05, stats["link"]
    assert stats["link"]["lossPercent"] is not None
    frame = app.snapshot("#preview")
    height, width = frame.shape[:2]
    assert abs(width / height - 4 / 3) < 0.03, f"{width}x{height}: the stamp strip reached the preview"
    assert frame_stamp.read(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)) is None
    swapped, hanks = identity(swapper, frame), identity(swapper, read_test_image("Tom_Hanks_54745.png"))
    assert distance(swapped, hanks) < distance(swapped, identity(swapper, camera_frame))
    status = lambda: httpx.get(url + "/status", headers={"X-Session-Id": app.session_id}, timeout=30).json()  # noqa: E731
    assert status()["stream_connections"] == 1
    app.testid("start-camera").click()  # stop: the page DELETEs its WHIP resource
    app.page.wait_for_timeout(1000)
    assert status()["stream_connections"] == 0
    assert app.errors_besides_refusals() == []


def test_through_turn_over_an_80_ms_link_with_1_percent_loss(open_app, network, data_dir):
    url, relay = network
    relay.change(UdpLink(delay_ms=40, loss=0.01))
    try:
        app = open_app(url + "/?ice=relay", transport="webrtc")
        run = measure_live(app, data_dir / "Tom_Hanks_54745.png", warm_up_s=2.0, seconds=4.0)
    finally:
        relay.change(UdpLink())
    assert relay.sent_up.lost and relay.sent_down.lost, "the link lost nothing: the media did not cross it"
    assert run.fps >= 5 and run.latency_p50 < 80 + 1000, run.summary()


def test_when_ice_fails_the_page_falls_back_to_the_websocket(open_app, data_dir):
    """A TURN server that does not answer and a page that may only use TURN: no WebRTC path at all."""
    need_module("aiortc", "webrtc")
    env = {"PLASTICVISION_ICE_SERVERS": json.dumps(["turn:127.0.0.1:9"]), "PLASTICVISION_TURN_SECRET": SECRET}
    with throwaway_server(env=env) as server:
        app = open_app(server.url + "/?ice=relay", transport="webrtc")
        app.give_consent()
        app.testid("start-camera").click()
        app.page.wait_for_function(
            "() => document.querySelector('#transport').value === 'websocket'", timeout=30_000
        )
        app.wait_for_frames(5)
        assert "using the WebSocket" in app.page.locator("#live-message").inner_text()
