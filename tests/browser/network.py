"""The page's live stream measured over an emulated link: what tests and bench/live_network.py both read."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from tests.browser.browser_app import AppPage

WARM_UP_FRAMES = 10


@dataclass(frozen=True)
class LiveRun:
    fps: float
    latency_p50: float
    latency_p95: float
    dropped: int
    quality: int
    width: int
    height: int
    link_line: str
    samples: list[tuple[float, float]]  # (ms since the measurement began, capture-to-display ms)

    def p95_by_part(self, parts: int) -> list[float]:
        """p95 latency in each of `parts` equal stretches of the run: a growing queue shows as a rising list."""
        end = max((at for at, _ in self.samples), default=0.0)
        chunks = [
            [ms for at, ms in self.samples if i * end / parts <= at <= (i + 1) * end / parts] for i in range(parts)
        ]
        return [statistics.quantiles(chunk, n=20)[-1] if len(chunk) > 1 else float("nan") for chunk in chunks]

    def summary(self) -> str:
        return (
            f"{self.fps:5.1f} fps, latency p50 {self.latency_p50:5.0f} ms, p95 {self.latency_p95:5.0f} ms, "
            f"{self.dropped:3d} dropped, sending q{self.quality} {self.width}x{self.height}"
        )


def measure_live(app: AppPage, source: Path, warm_up_s: float, seconds: float) -> LiveRun:
    """Upload `source`, start the camera, let the stream settle for `warm_up_s`, then measure for `seconds`."""
    app.give_consent()
    app.upload_sources(source)
    app.page.wait_for_function("() => document.querySelector('[data-testid=source-count]').textContent === '1'")
    app.start_camera()
    app.wait_for_frames(WARM_UP_FRAMES)
    app.page.wait_for_timeout(warm_up_s * 1000)
    dropped_before = app.stats()["dropped"]
    app.page.evaluate("window.plasticvision.stats.mark()")
    app.page.wait_for_timeout(seconds * 1000)
    stats = app.stats()
    link_line = app.testid("link-status").inner_text()
    app.testid("start-camera").click()  # stop
    return LiveRun(
        fps=stats["fpsSinceMark"],
        latency_p50=stats["latencyP50"],
        latency_p95=stats["latencyP95"],
        dropped=stats["dropped"] - dropped_before,
        quality=stats["quality"],
        width=stats["width"],
        height=stats["height"],
        link_line=link_line,
        samples=[tuple(sample) for sample in stats["samples"]],
    )
