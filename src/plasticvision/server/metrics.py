"""The server's Prometheus metrics: one `Metrics` per app, updated where the work happens.

Counters and histograms are pushed by the code doing the work (a stream sending a frame, a
swap timing its stages, a request ending); gauges of current state (streams, sessions, video
jobs, busy threads, the session store) are read from their owners at scrape time, so they can
never drift. Each app has its own `CollectorRegistry`: no process-global metric state.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, Info, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PREFIX = "plasticvision"
STAGE_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28)
ROUND_TRIP_BUCKETS_S = (0.005, 0.01, 0.02, 0.033, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5)


@dataclass
class Readings:
    """Where the scrape-time gauges come from; each is a cheap call into the part that owns the state."""

    streams: Callable[[], int]
    sessions: Callable[[], int]
    video_jobs: Callable[[], list[tuple[str, float]]]  # (state, frames/s) per job
    busy_threads: Callable[[], dict[str, int]]  # device -> threads busy with frames
    store: Callable[[], tuple[str, bool]]  # (name, reachable)


class StateCollector(Collector):
    def __init__(self, readings: Readings) -> None:
        self.readings = readings

    def collect(self) -> Iterator[Metric]:
        r = self.readings
        yield GaugeMetricFamily(f"{PREFIX}_active_streams", "WebSocket streams connected now", r.streams())
        yield GaugeMetricFamily(f"{PREFIX}_sessions", "sessions alive in this process, default included", r.sessions())
        jobs = r.video_jobs()
        states = GaugeMetricFamily(f"{PREFIX}_video_jobs", "video jobs by state", labels=["state"])
        for state, count in sorted(Tally(state for state, _ in jobs).items()):
            states.add_metric([state], count)
        yield states
        running = sum(fps for state, fps in jobs if state == "running")
        yield GaugeMetricFamily(f"{PREFIX}_video_frames_per_second", "frames/s of the running video jobs", running)
        busy = GaugeMetricFamily(f"{PREFIX}_device_busy_threads", "threads busy with frames, by device", labels=["device"])
        for device, count in r.busy_threads().items():
            busy.add_metric([device], count)
        yield busy
        name, up = r.store()
        store = GaugeMetricFamily(f"{PREFIX}_session_store_up", "1 when the session store answers", labels=["store"])
        store.add_metric([name], 1.0 if up else 0.0)
        yield store


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.frames_processed = Counter(f"{PREFIX}_frames_processed", "stream frames swapped and sent back", registry=r)
        self.frames_dropped = Counter(
            f"{PREFIX}_frames_dropped", "stream frames skipped because a newer one arrived first", registry=r
        )
        self.stream_errors = Counter(f"{PREFIX}_stream_errors", "stream error replies by code", ["code"], registry=r)
        self.round_trip = Histogram(
            f"{PREFIX}_stream_round_trip_seconds", "a stream frame's arrival to its reply leaving",
            buckets=ROUND_TRIP_BUCKETS_S, registry=r,
        )
        self.stage = Histogram(
            f"{PREFIX}_stage_seconds", "time per pipeline stage of each swap (streams, images, videos)", ["stage"],
            buckets=STAGE_BUCKETS_S, registry=r,
        )
        self.http = Counter(f"{PREFIX}_http_responses", "HTTP answers by route and status", ["route", "status"], registry=r)
        self.uploads = Counter(f"{PREFIX}_uploads", "source-face uploads by status", ["status"], registry=r)
        self.image_swaps = Counter(f"{PREFIX}_image_swaps", "images swapped by POST /swap-image", registry=r)
        self.engine = Info(f"{PREFIX}_engine", "the engine, its execution providers and the version", registry=r)

    def watch(self, readings: Readings) -> None:
        self.registry.register(StateCollector(readings))

    def observe_stages(self, ms: dict[str, float]) -> None:
        for stage, value in ms.items():
            self.stage.labels(stage).observe(value / 1000.0)

    def observe_response(self, route: str, status: int) -> None:
        self.http.labels(route, str(status)).inc()
        if route == "/upload-source-faces":
            self.uploads.labels(str(status)).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
