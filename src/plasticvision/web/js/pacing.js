// How many frames stay in flight, and at what JPEG quality and width they go: the page's copy of
// plasticvision/client/pacing.py (its docstring explains the rules; tests/client/test_pacing.py runs both).

export const LADDER = [
  [640, 70],
  [640, 60],
  [640, 50],
  [640, 42],
  [480, 42],
  [320, 42],
];
const MIN_IN_FLIGHT = 3;
const QUEUE_MS = 30;
const CLEAR_MS = 10;
const RECENT_MS = 500;
const BASE_WINDOW_MS = 30_000;
const DOWN_HOLD_MS = 250;
const UP_WAIT_MS = 2000;
const MAX_UP_WAIT_MS = 30_000;
const UNDO_MS = 5000;
const RATE_WINDOW_MS = 1000;
const MIN_SAMPLES = 3;

export class Pacer {
  constructor({ frameIntervalMs = 1000 / 30, maxInFlight = 8 } = {}) {
    this.frameIntervalMs = frameIntervalMs;
    this.maxInFlight = maxInFlight;
    this.index = 0;
    this.network = []; // [arrival ms, network ms, sent ms]
    this.delivered = []; // [arrival ms, frame bytes, reply bytes]
    this.swapped = []; // arrival ms of swapped (not dropped) replies
    this.serverMs = 0;
    this.lastChangeMs = -Infinity;
    this.lastUpMs = -Infinity;
    this.upWaitMs = UP_WAIT_MS;
  }

  get level() {
    const [width, quality] = LADDER[this.index];
    return { width, quality, replyQuality: Math.min(80, quality + 10) };
  }

  get linkLimited() {
    return this.index > 0;
  }

  get baseMs() {
    return this.network.length ? Math.min(...this.network.map((entry) => entry[1])) : 0;
  }

  get replyIntervalMs() {
    const n = this.swapped.length;
    if (n < MIN_SAMPLES) return this.frameIntervalMs;
    return Math.max(this.frameIntervalMs, (this.swapped[n - 1] - this.swapped[0]) / (n - 1));
  }

  get window() {
    const floor = Math.min(MIN_IN_FLIGHT, this.maxInFlight);
    if (!this.network.length) return floor;
    const needed = Math.ceil((this.baseMs + this.serverMs) / this.replyIntervalMs) + 1;
    return Math.max(floor, Math.min(needed, this.maxInFlight));
  }

  linkMbps(nowMs) {
    this.forget(nowMs);
    let up = 0;
    let down = 0;
    for (const [, frameBytes, replyBytes] of this.delivered) {
      up += frameBytes;
      down += replyBytes;
    }
    return (Math.max(up, down) * 8) / (RATE_WINDOW_MS * 1000);
  }

  onReply(nowMs, sentMs, serverMs, frameBytes, replyBytes, swapped = true) {
    this.network.push([nowMs, Math.max(0, nowMs - sentMs - serverMs), sentMs]);
    this.delivered.push([nowMs, frameBytes, replyBytes]);
    if (swapped) {
      // a dropped frame's server time says nothing about how long a swap takes
      this.serverMs = this.swapped.length ? this.serverMs + 0.2 * (serverMs - this.serverMs) : serverMs;
      this.swapped.push(nowMs);
    }
    this.forget(nowMs);
    this.adapt(nowMs);
  }

  queueMs(nowMs) {
    const recent = this.network
      .filter(([at, , sent]) => at >= nowMs - RECENT_MS && sent >= this.lastChangeMs)
      .map((entry) => entry[1]);
    return recent.length >= MIN_SAMPLES ? Math.min(...recent) - this.baseMs : null;
  }

  adapt(nowMs) {
    const sinceChange = nowMs - this.lastChangeMs;
    const queue = this.queueMs(nowMs);
    if (queue === null) return;
    if (queue > QUEUE_MS && sinceChange >= DOWN_HOLD_MS && this.index < LADDER.length - 1) {
      if (nowMs - this.lastUpMs < UNDO_MS) this.upWaitMs = Math.min(2 * this.upWaitMs, MAX_UP_WAIT_MS);
      this.index += 1;
      this.lastChangeMs = nowMs;
    } else if (queue < CLEAR_MS && sinceChange >= this.upWaitMs && this.index > 0) {
      this.index -= 1;
      this.lastChangeMs = this.lastUpMs = nowMs;
    }
  }

  forget(nowMs) {
    while (this.network.length && this.network[0][0] < nowMs - BASE_WINDOW_MS) this.network.shift();
    while (this.delivered.length && this.delivered[0][0] < nowMs - RATE_WINDOW_MS) this.delivered.shift();
    while (this.swapped.length && this.swapped[0] < nowMs - RATE_WINDOW_MS) this.swapped.shift();
  }
}

/** The user's one line when the link is the bottleneck. */
export function describe(pacer, nowMs, height) {
  const { quality, width } = pacer.level;
  return `network limited: ${pacer.linkMbps(nowMs).toFixed(1)} Mbit/s, sending at q${quality} ${width}×${height}`;
}
