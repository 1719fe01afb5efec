"""The pacer's rules on a simulated clock: the window follows the round trip, a queueing link lowers
quality before width (never under 320 px), a clear link earns quality back, and a step up that had
to be undone waits longer before the next."""

from __future__ import annotations

import pytest

from plasticvision.client.pacing import LADDER, Pacer, describe

INTERVAL = 1000 / 30


def run(pacer: Pacer, start_ms: float, seconds: float, network_ms, server_ms: float = 11.0) -> float:
    """Frames every 33 ms whose replies take `network_ms(t)` on the wire; returns the clock at the end."""
    t = start_ms
    while t < start_ms + seconds * 1000:
        wire = network_ms(t)
        pacer.on_reply(t + wire + server_ms, t, server_ms, 30_000, 35_000)
        t += INTERVAL
    return t


@pytest.mark.parametrize(("rtt", "window"), [(0, 3), (46, 3), (80, 4), (120, 5), (400, 8)])
def test_the_window_covers_the_round_trip_and_the_server(rtt, window):
    pacer = Pacer()
    run(pacer, 0, 1, lambda t: rtt)
    assert pacer.window == window
    assert pacer.level == Pacer().level, "a steady link is not a slow one"


def test_one_frame_in_flight_is_a_cap_the_pacer_keeps():
    pacer = Pacer(max_in_flight=1)
    run(pacer, 0, 1, lambda t: 120)
    assert pacer.window == 1


def test_a_queueing_link_lowers_quality_first_then_width_but_never_below_320():
    pacer = Pacer()
    t = run(pacer, 0, 1, lambda t: 46)
    seen = [(pacer.level.width, pacer.level.quality)]
    for _ in range(60):  # frames wait 80 ms in the link's queue, on top of its round trip
        t = run(pacer, t, 0.1, lambda t: 46 + 80)
        if (pacer.level.width, pacer.level.quality) != seen[-1]:
            seen.append((pacer.level.width, pacer.level.quality))
    assert seen == list(LADDER), "every step, in order: all qualities at 640 px, then smaller widths"
    assert all(later[1] <= earlier[1] for earlier, later in zip(seen, seen[1:]))
    assert seen[-1][0] == 320
    assert pacer.link_limited and "network limited" in describe(pacer, t, 240)


def test_a_recovered_link_earns_the_quality_back():
    pacer = Pacer()
    t = run(pacer, 0, 1, lambda t: 46)
    t = run(pacer, t, 2, lambda t: 46 + 80)
    assert pacer.link_limited
    t = run(pacer, t, 20, lambda t: 46)
    assert not pacer.link_limited and pacer.level == Pacer().level


def test_a_step_up_that_is_undone_waits_longer_before_the_next():
    """A link that carries level 1 but not level 0: after a few tries the pacer stays at 1 longer."""
    pacer = Pacer()
    t = run(pacer, 0, 1, lambda t: 46)
    ups = []
    for _ in range(1800):  # a minute, frame by frame: the link queues only the best level's frames
        before = pacer.index
        t = run(pacer, t, INTERVAL / 1000, lambda t: 46 + (80 if pacer.index == 0 else 0))
        if pacer.index < before:
            ups.append(t)
    gaps = [b - a for a, b in zip(ups, ups[1:])]
    assert len(gaps) >= 2 and gaps[-1] > gaps[0] * 1.5, f"step-ups did not back off: {gaps}"


def test_a_slow_server_gets_no_more_frames_in_flight_than_it_can_swap():
    """A server swapping a frame every 100 ms drops the rest (latest wins): the window follows its pace,
    not the camera's, so the client stops encoding and sending frames only to see them dropped."""
    pacer = Pacer()
    t = 0.0
    for n in range(90):  # 3 s: every third frame swapped (150 ms on the server), the others dropped
        swapped = n % 3 == 0
        server_ms = 150.0 if swapped else 5.0
        pacer.on_reply(t + 46 + server_ms, t, server_ms, 30_000, 35_000 if swapped else 24, swapped)
        t += INTERVAL
    assert pacer.reply_interval_ms == pytest.approx(100, abs=5)
    fast = Pacer()
    run(fast, 0, 3, lambda t: 46, server_ms=150)  # the same server time, every frame swapped
    assert pacer.window < fast.window, (pacer.window, fast.window)
