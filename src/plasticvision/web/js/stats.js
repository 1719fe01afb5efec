// Live counters: frames sent and received, frames per second over the last second, smoothed latency.

const FPS_WINDOW_MS = 1000;
const LATENCY_SMOOTHING = 0.2;

export class FrameStats {
  constructor() {
    this.reset();
  }

  reset() {
    this.sent = 0;
    this.received = 0;
    this.latencyMs = null;
    this.arrivals = [];
  }

  countSent() {
    this.sent += 1;
  }

  countReceived(latencyMs) {
    this.received += 1;
    this.arrivals.push(performance.now());
    if (latencyMs === null) return;
    const previous = this.latencyMs ?? latencyMs;
    this.latencyMs = previous + LATENCY_SMOOTHING * (latencyMs - previous);
  }

  /** Frames received during the last second. */
  get fps() {
    const since = performance.now() - FPS_WINDOW_MS;
    while (this.arrivals.length && this.arrivals[0] < since) this.arrivals.shift();
    return this.arrivals.length * (1000 / FPS_WINDOW_MS);
  }

  toJSON() {
    return { sent: this.sent, received: this.received, fps: this.fps, latencyMs: this.latencyMs };
  }
}
