"""The loss-recovery counts that bench/webrtc_network.py prints: they must tally what the parts did,
and still wrap them after a change to the parts (a renamed method would leave the bench counting zeros)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.optional_parts import need_module

need_module("aiortc", "webrtc")

from bench.webrtc_network import parse_link  # noqa: E402

# In its own process: counting() wraps the classes for the life of the process, as in the bench's server.
FEED = """
import json
from aiortc.rtp import RtpPacket
from bench.webrtc_counts import COUNTS, counting
from plasticvision.client.jitter import LiveJitterBuffer, LiveNacks, RepairTime

counting()
clock = [0.0]
repair = RepairTime()
buffer, nacks = LiveJitterBuffer(repair=repair, clock=lambda: clock[0]), LiveNacks(repair, lambda: clock[0])

def arrive(seq, key=False):
    packet = RtpPacket(sequence_number=seq, timestamp=seq * 3000, marker=1)
    packet._data = b"\\x10" if key else b"\\x11"
    nacks.add(packet)
    buffer.add(packet)
    list(buffer.ready())
    clock[0] += 0.033

arrive(1, key=True)
arrive(3)   # 2 lost: shown here, and NACKed
arrive(2)   # its retransmission, in time: frames 2 and 3 decode
arrive(5)   # 4 lost, never resent
clock[0] += 1.0
arrive(6)   # overdue: the hole is given up (with 5: a packet right after a hole may end a frame), 6 is unusable
arrive(4)   # too late
print(json.dumps(COUNTS))
"""


def test_the_counts_tally_a_repaired_loss_a_hole_and_a_late_retransmission():
    result = subprocess.run([sys.executable, "-c", FEED], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts == {"nacked": 2, "repaired": 1, "late": 1, "holes": 1, "unusable": 1, "decoded": 3}, counts


@pytest.mark.parametrize(("text", "link"), [("0", (0.0, 0.0, None)), ("80/1", (80.0, 0.01, None)), ("80/1/2", (80.0, 0.01, 2.0))])
def test_links_parse(text: str, link: tuple):
    assert parse_link(text) == link


@pytest.mark.parametrize("text", ["80/x", "80/1/2/3", "-5", "80/100"])
def test_bad_links_are_refused(text: str):
    with pytest.raises(Exception, match="RTT|round trip"):
        parse_link(text)
