// Live counters: frames sent, shown and dropped, frames per second over the last second, and
// capture-to-display latency (smoothed for the meter; percentiles since `mark()` for tests and the bench).

const FPS_WINDOW_MS = 1000;
const LATENCY_SMOOTHING = 0.2;
const MAX_SAMPLES = 4000;

function percentile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((q / 100) * sorted.length))] : null;
}

const RATE_WINDOW_MS = 1000;

/** Bits per second each way and the share of packets lost, from running totals read now and then. */
export class LinkMeter {
  constructor() {
    this.reset();
  }

  reset() {
    this.last = null; // {atMs, sentBytes, receivedBytes, packetsLost, packetsReceived}
    this.rates = null;
  }

  /** The rates over the last second or so; `totals` as a transport's readLink() gives them. */
  update(nowMs, totals) {
    if (this.last === null) {
      this.last = { atMs: nowMs, ...totals };
      return this.rates;
    }
    const seconds = (nowMs - this.last.atMs) / 1000;
    if (seconds * 1000 < RATE_WINDOW_MS) return this.rates;
    const lost = totals.packetsLost === null ? null : totals.packetsLost - this.last.packetsLost;
    const arrived = totals.packetsReceived === null ? null : totals.packetsReceived - this.last.packetsReceived;
    let lossPercent = null; // null: the transport does not see its packets (TCP)
    if (lost !== null) lossPercent = lost + arrived > 0 ? (100 * lost) / (lost + arrived) : 0;
    this.rates = {
      sentMbps: ((totals.sentBytes - this.last.sentBytes) * 8) / seconds / 1e6,
      receivedMbps: ((totals.receivedBytes - this.last.receivedBytes) * 8) / seconds / 1e6,
      lossPercent,
    };
    this.last = { atMs: nowMs, ...totals };
    return this.rates;
  }
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
    this.link = null; // {sentMbps, receivedMbps, lossPercent}: the link meters
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
      link: this.link,
      ...this.sending,
    };
  }
}
