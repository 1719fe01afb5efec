"""The page's pacer (web/js/pacing.js) and the Python one (plasticvision.client.pacing) make the same
decisions on the same replies: one spec, two implementations, checked against each other."""

from __future__ import annotations

import pytest

from plasticvision.client.pacing import Pacer

pytestmark = pytest.mark.browser

INTERVAL = 1000 / 30

# A link that is fine, then queues frames (a slower link), then recovers, then queues only the
# best level's frames: every rule of the pacer is exercised on the way.
SIMULATE_JS = """async ({ interval, frames }) => {
  const { Pacer } = await import("/static/js/pacing.js");
  const pacer = new Pacer();
  const trace = [];
  for (let n = 0; n < frames; n++) {
    const t = n * interval;
    const queue = n < 60 ? 0 : n < 300 ? 90 : n < 900 ? 0 : (pacer.index === 0 ? 70 : 0);
    const swapped = n < 1800 || n % 3 === 0;  // then a slow server that drops two frames in three
    const serverMs = n < 1800 ? 11 : swapped ? 150 : 5;
    pacer.onReply(t + 46 + queue + serverMs, t, serverMs, 30000, 35000, swapped);
    trace.push([pacer.index, pacer.window]);
  }
  return trace;
}"""


def simulate_python(frames: int) -> list[list[int]]:
    pacer, trace = Pacer(), []
    for n in range(frames):
        t = n * INTERVAL
        queue = 0 if n < 60 else 90 if n < 300 else 0 if n < 900 else (70 if pacer.index == 0 else 0)
        swapped = n < 1800 or n % 3 == 0  # then a slow server that drops two frames in three
        server_ms = 11 if n < 1800 else 150 if swapped else 5
        pacer.on_reply(t + 46 + queue + server_ms, t, server_ms, 30_000, 35_000, swapped)
        trace.append([pacer.index, pacer.window])
    return trace


def test_page_and_python_pacers_agree(app):
    frames = 2400
    page = app.page.evaluate(SIMULATE_JS, {"interval": INTERVAL, "frames": frames})
    python = simulate_python(frames)
    assert max(index for index, _ in python) >= 3 and python[899][0] == 0, "the scenario did not exercise the ladder"
    first_difference = next((n for n in range(frames) if page[n] != python[n]), None)
    assert first_difference is None, (
        f"frame {first_difference}: page {page[first_difference]}, python {python[first_difference]}"
    )
