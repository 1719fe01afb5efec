"""`plasticvision.client` against a real uvicorn: sources, settings and a live stream with the face
swapped, over loopback and through the emulated link; and each failure as its own typed error."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from tests.support.faces import distance, identity, on_canvas
from tests.support.live_uvicorn import free_port
from tests.support.server_process import throwaway_server
from plasticvision.client import ApiKeyRefused, BadSession, ClientError, ServerUnreachable, StreamClient
from plasticvision.client.errors import ServerRefused
from plasticvision.tools.netem import emulated_link


@pytest.fixture(scope="module")
def server(live_server, make_app) -> str:
    return "http://" + live_server(make_app())


@pytest.fixture(scope="module")
def server_in_its_own_process() -> Iterator[str]:
    """For timing: in this process the server, the link proxy and the client would share one GIL."""
    with throwaway_server() as running:
        yield running.url


@pytest.fixture(scope="module")
def camera_frame(read_test_image):
    return on_canvas(read_test_image("astronaut.png"), 400, (120, 40))


def stream_for(live, frame, seconds: float, fps: float = 30.0) -> list:
    """Send `frame` at `fps` for `seconds`, collecting every reply handed out meanwhile."""
    replies, start, number = [], time.monotonic(), 0
    while (now := time.monotonic()) < start + seconds:
        due = start + number / fps
        if now >= due:
            live.send(frame)
            number += 1
            continue
        reply = live.receive(timeout=due - now)
        if reply is not None:
            replies.append(reply)
    return replies


def test_a_script_swaps_its_frames_through_the_client(server, swapper, camera_frame, read_test_image, data_dir):
    client = StreamClient(server, session_id="client-script")
    assert client.upload_sources([data_dir / "Tom_Hanks_54745.png"]) == 1
    assert client.update_settings({"sharpness": 0.5})["sharpness"] == 0.5
    with client.open_stream() as live:
        replies = stream_for(live, camera_frame, 3.0)
        stats = live.stats()
    assert len(replies) >= 10, f"only {len(replies)} replies in 3 s"
    seqs = [reply.seq for reply in replies]
    assert seqs == sorted(set(seqs)), "replies handed out of order or twice"
    last = replies[-1]
    assert last.frame.shape == camera_frame.shape and 0 < last.server_ms < last.latency_ms
    swapped, hanks = identity(swapper, last.frame), identity(swapper, read_test_image("Tom_Hanks_54745.png"))
    assert distance(swapped, hanks) < distance(swapped, identity(swapper, camera_frame))
    assert stats.sent >= stats.received >= len(replies) and stats.jpeg_quality == 70 and stats.width == 640
    assert stats.latency_p50_ms is not None and stats.latency_p50_ms <= stats.latency_p95_ms


def test_an_array_source_works_as_well_as_a_file(server, read_test_image):
    client = StreamClient(server, session_id="client-array")
    assert client.upload_sources([read_test_image("Tom_Hanks_54745.png")]) == 1


def fps_over(url: str, frame, max_in_flight: int, seconds: float = 3.0) -> tuple[float, int, object]:
    """Replies per second after a warm-up, the most frames seen in flight at once, and the last stats."""
    with StreamClient(url, session_id="client-46ms").open_stream(max_in_flight=max_in_flight) as live:
        stream_for(live, frame, 1.0)  # warm-up: the first detection, the window opening
        before, most, start = live.stats().received, 0, time.monotonic()
        while time.monotonic() < start + seconds:
            stream_for(live, frame, 0.1)
            most = max(most, live.stats().in_flight)
        stats = live.stats()
    return (stats.received - before) / seconds, most, stats


def test_over_a_46_ms_link_the_client_keeps_several_frames_in_flight(server_in_its_own_process, camera_frame, data_dir):
    """One frame in flight waits a round trip for each reply; several keep up with the camera.
    Against a one-frame baseline in the same test, so that a busy machine slows both alike
    (the numbers themselves are in bench/stream_bench.py --rtt 46)."""
    with emulated_link(server_in_its_own_process, rtt_ms=46) as url:
        StreamClient(url, session_id="client-46ms").upload_sources([data_dir / "Tom_Hanks_54745.png"])
        baseline, most_baseline, _ = fps_over(url, camera_frame, max_in_flight=1)
        fps, most, stats = fps_over(url, camera_frame, max_in_flight=8)
    assert stats.network_ms >= 40, f"the link's 46 ms round trip was not seen ({stats.network_ms:.0f} ms)"
    assert most_baseline <= 1 and most >= 2 and stats.window >= 3, (most_baseline, most, stats.window)
    assert fps > 1.25 * baseline, f"{fps:.1f} fps with frames in flight vs {baseline:.1f} with one; {stats}"


def test_an_unreachable_server_is_one_typed_line():
    client = StreamClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(ServerUnreachable, match="cannot reach the server at http://127.0.0.1:"):
        client.status()
    with pytest.raises(ServerUnreachable, match="cannot reach the server at"):  # asking for a session
        client.open_stream()
    with pytest.raises(ServerUnreachable, match="cannot reach the stream"):
        StreamClient(client.base_url, session_id="issued-earlier", timeout=2).open_stream()


def test_a_refused_api_key_is_its_own_error(live_server, make_app):
    url = "http://" + live_server(make_app(api_key="s3cret"))
    for key, type_, status in ((None, "api_key_missing", 401), ("wrong", "api_key_invalid", 403)):
        client = StreamClient(url, api_key=key)
        with pytest.raises(ApiKeyRefused, match="API key") as refused:
            client.update_settings({"opacity": 1})
        assert (refused.value.type, refused.value.status) == (type_, status)
        with pytest.raises(ApiKeyRefused, match="API key") as refused:
            client.open_stream()
        assert (refused.value.type, refused.value.status) == (type_, 1008)
    with StreamClient(url, api_key="s3cret").open_stream() as live:
        assert live.stats().sent == 0


def test_a_bad_session_is_its_own_error(server):
    client = StreamClient(server, session_id="../etc")
    with pytest.raises(BadSession, match="session") as refused:
        client.update_settings({"opacity": 1})
    assert (refused.value.type, refused.value.status) == ("bad_session", 422)
    with pytest.raises(BadSession, match="session") as refused:
        client.open_stream()
    assert (refused.value.type, refused.value.status) == ("bad_session", 1008)


def test_a_full_server_is_a_bad_session_by_its_type_not_its_words(live_server, make_app):
    url = "http://" + live_server(make_app(max_ws_per_session=1))
    with StreamClient(url, session_id="one-stream").open_stream():
        with pytest.raises(BadSession) as refused:
            StreamClient(url, session_id="one-stream").open_stream()
    assert (refused.value.type, refused.value.status) == ("too_many_connections", 1013)


def test_a_rate_limit_is_a_typed_refusal(live_server, make_app, data_dir):
    client = StreamClient("http://" + live_server(make_app(rate_limit="1/minute")), session_id="limited")
    client.upload_sources([data_dir / "Tom_Hanks_54745.png"])
    with pytest.raises(ServerRefused, match="429") as refused:
        client.upload_sources([data_dir / "Tom_Hanks_54745.png"])
    assert (refused.value.type, refused.value.status) == ("rate_limited", 429)


def test_other_refusals_carry_the_servers_reason(server, data_dir):
    client = StreamClient(server, session_id="client-refusals")
    with pytest.raises(ServerRefused, match="422.*opacity") as refused:
        client.update_settings({"opacity": 7})
    assert refused.value.type == "invalid_request"
    with pytest.raises(ServerRefused, match="no face") as refused:
        client.upload_sources([data_dir / "coffee.png"])
    assert (refused.value.type, refused.value.status) == ("no_face", 422)
    with pytest.raises(ClientError, match="cannot read"):
        client.upload_sources([data_dir / "missing.png"])
    with pytest.raises(ClientError, match="expected a server URL"):
        StreamClient("ftp://example.org")
    with client.open_stream() as live, pytest.raises(ClientError, match="time.monotonic"):
        live.send(np.zeros((48, 64, 3), np.uint8), capture_time=-1.0)
