"""The emulated UDP link: its loss rate, the spacing its bandwidth cap gives, and a full buffer's drops."""

from __future__ import annotations

import random

import numpy as np
import pytest

from plasticvision.tools.netem_udp import UDP_IP_HEADERS, Direction, UdpLink


def test_the_udp_link_loses_its_share_and_spaces_datagrams_by_the_cap():
    lossy = Direction(UdpLink(loss=0.1), random.Random(1))
    arrivals = [lossy.schedule(0.0, 100) for _ in range(5000)]
    assert 0.08 < arrivals.count(None) / 5000 < 0.12 and lossy.lost == arrivals.count(None)

    capped = Direction(UdpLink(delay_ms=40, mbps=1.0, buffer_ms=50), random.Random(1))
    times = [capped.schedule(0.0, 1000 - UDP_IP_HEADERS) for _ in range(10)]
    assert times[0] == pytest.approx(0.008 + 0.040)
    assert np.diff([t for t in times if t is not None]) == pytest.approx([0.008] * 6)
    assert times.count(None) == capped.overflowed == 3  # 50 ms of buffer holds 6 more: the rest is dropped
