// Live counters: frames sent, shown and dropped, frames per second over the last second, and
// capture-to-display latency (smoothed for the meter; percentiles since `mark()` for tests and the bench).

const FPS_WINDOW_MS = 1000;
const LATENCY_SMOOTHING = 0.2;
const MAX_SAMPLES = 4000;

function percentile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((q / 100) * sorted.length))] : null;
}

export class FrameStats {
  constructor() {
    this.reset();
  }

  reset() {
    this.sent = 0;
    this.received = 0;
    this.dropped = 0;
    this.latencyMs = null;
    this.serverMs = null;
    this.arrivals = [];
    this.sending = null; // {quality, width, height, inFlight, window}
    this.stagesMs = {}; // smoothed ms of the page's own steps: wait (for a slot), encode, decode
    this.mark();
  }

  /** Start a new measurement: percentiles and fpsSinceMark cover what comes after this. */
  mark() {
    this.markedAt = performance.now();
    this.receivedAtMark = this.received;
    this.samples = []; // [display time ms since mark, latency ms]
  }

  countSent(sending) {
    this.sent += 1;
    this.sending = sending;
  }

  countStage(name, ms) {
    const previous = this.stagesMs[name] ?? ms;
    this.stagesMs[name] = previous + LATENCY_SMOOTHING * (ms - previous);
  }

  countDropped() {
    this.dropped += 1;
  }

  countReceived(latencyMs, serverMs) {
    const now = performance.now();
    this.received += 1;
    this.arrivals.push(now);
    if (this.samples.length < MAX_SAMPLES) this.samples.push([now - this.markedAt, latencyMs]);
    const previous = this.latencyMs ?? latencyMs;
    this.latencyMs = previous + LATENCY_SMOOTHING * (latencyMs - previous);
    this.serverMs = this.serverMs === null ? serverMs : this.serverMs + LATENCY_SMOOTHING * (serverMs - this.serverMs);
  }

  /** Frames shown during the last second. */
  get fps() {
    const since = performance.now() - FPS_WINDOW_MS;
    while (this.arrivals.length && this.arrivals[0] < since) this.arrivals.shift();
    return this.arrivals.length * (1000 / FPS_WINDOW_MS);
  }

  toJSON() {
    const sorted = this.samples.map((sample) => sample[1]).sort((a, b) => a - b);
    const seconds = (performance.now() - this.markedAt) / 1000;
    return {
      sent: this.sent,
      received: this.received,
      dropped: this.dropped,
      fps: this.fps,
      latencyMs: this.latencyMs,
      serverMs: this.serverMs,
      fpsSinceMark: seconds > 0 ? (this.received - this.receivedAtMark) / seconds : 0,
      latencyP50: percentile(sorted, 50),
      latencyP95: percentile(sorted, 95),
      samples: this.samples,
      stagesMs: this.stagesMs,
      ...this.sending,
    };
  }
}
