// The live WebSocket (stream protocol 2, see protocol.js): several frames in flight as the pacer
// decides, each with its sequence number and capture time; sends only while the socket holds less
// than about one frame (bufferedAmount); reconnects with backoff while the user wants the stream.
//
// Events: "status" (detail {state, text}), "frame" (detail {buffer, offset, seq, captureTimeMs,
// serverMs}), "slot" (a frame slot freed: send the next one), "dropped" (a frame the server or the
// page dropped), "notice" (detail text from the server).
import { frameHeader, KIND_DROPPED, parseReply, REPLY_HEADER_BYTES } from "./protocol.js";
import { Pacer } from "./pacing.js";

const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 8000;
const STALE_MS = 10_000; // a frame with no answer after this long stops holding a slot
const MAX_IN_FLIGHT = 8;

/** `?inflight=1` on the page's URL caps the frames in flight (the bench compares with the old client). */
function inFlightCap() {
  const asked = Number(new URLSearchParams(location.search).get("inflight"));
  return Number.isInteger(asked) && asked >= 1 && asked <= MAX_IN_FLIGHT ? asked : MAX_IN_FLIGHT;
}

export class StreamClient extends EventTarget {
  constructor(connection) {
    super();
    this.connection = connection;
    this.socket = null;
    this.connected = false;
    this.wanted = false;
    this.attempt = 0;
    this.reconnectTimer = 0;
    this.maxInFlight = inFlightCap();
    this.reset();
  }

  start() {
    this.wanted = true;
    this.attempt = 0;
    this.open();
  }

  stop() {
    this.wanted = false;
    clearTimeout(this.reconnectTimer);
    this.close();
    this.setStatus("idle", "Camera off");
  }

  /** Reconnect now, e.g. after the server URL changed. */
  restart() {
    if (!this.wanted) return;
    this.close();
    this.start();
  }

  get inFlight() {
    return this.pending.size;
  }

  /** Room for another frame: the window has a free slot and the socket has sent the last frame. */
  get canSend() {
    if (!this.connected) return false;
    this.forgetStale();
    return this.pending.size < this.pacer.window && this.socket.bufferedAmount < Math.max(1, this.lastFrameBytes);
  }

  /** The JPEG quality and width to encode the next frame with. */
  get level() {
    return this.pacer.level;
  }

  send(jpeg, captureTimeMs) {
    const seq = this.nextSeq++;
    const replyQuality = this.pacer.level.replyQuality;
    const message = new Blob([frameHeader(seq, captureTimeMs, replyQuality), jpeg]);
    this.pending.set(seq, { sentMs: performance.now(), bytes: message.size });
    this.lastFrameBytes = message.size;
    this.socket.send(message);
    return seq;
  }

  sendSettings(settings) {
    if (this.connected) this.socket.send(JSON.stringify({ settings }));
  }

  open() {
    clearTimeout(this.reconnectTimer);
    if (!this.connection.sessionId) {
      this.connection.ensureSession().then(
        () => this.open(),
        (error) => this.setStatus("error", error.message),
      );
      return;
    }
    this.setStatus("connecting", this.attempt ? `Reconnecting (attempt ${this.attempt + 1})…` : "Connecting…");
    let socket;
    try {
      const url = new URL(this.connection.queryUrl("/ws/stream", { websocket: true }));
      url.searchParams.set("protocol", "2");
      socket = new WebSocket(url);
    } catch (error) {
      this.setStatus("error", `Bad server URL: ${error.message}`);
      return;
    }
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => this.closed(socket, event);
    this.socket = socket;
  }

  close() {
    const socket = this.socket;
    this.socket = null;
    this.reset();
    if (socket) {
      socket.onclose = socket.onmessage = null;
      socket.close(1000);
    }
  }

  reset() {
    this.connected = false;
    this.pending = new Map(); // seq -> {sentMs, bytes}
    this.nextSeq = 1;
    this.lastFrameBytes = 0;
    this.pacer = new Pacer({ maxInFlight: this.maxInFlight });
  }

  receive(data) {
    if (typeof data !== "string") {
      this.reply(data);
      return;
    }
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      message = { detail: data };
    }
    if (message.status === "connected") {
      this.connected = true;
      this.attempt = 0;
      this.setStatus("live", "Live");
      this.dispatchEvent(new Event("slot"));
    } else if (message.detail) {
      if (this.pending.delete(message.seq)) this.dispatchEvent(new Event("dropped"));
      this.notice(message.detail);
      this.dispatchEvent(new Event("slot"));
    }
  }

  reply(buffer) {
    const header = parseReply(buffer);
    if (!header) {
      this.notice("The server sent a reply this page cannot read");
      return;
    }
    const sent = this.pending.get(header.seq);
    if (sent) {
      this.pending.delete(header.seq);
      const swapped = header.kind !== KIND_DROPPED;
      this.pacer.onReply(performance.now(), sent.sentMs, header.serverMs, sent.bytes, buffer.byteLength, swapped);
    }
    if (header.kind === KIND_DROPPED) this.dispatchEvent(new Event("dropped"));
    else this.dispatchEvent(new CustomEvent("frame", { detail: { ...header, buffer, offset: REPLY_HEADER_BYTES } }));
    this.dispatchEvent(new Event("slot"));
  }

  forgetStale() {
    const cutoff = performance.now() - STALE_MS;
    for (const [seq, { sentMs }] of this.pending) {
      if (sentMs >= cutoff) break; // in send order
      this.pending.delete(seq);
      this.dispatchEvent(new Event("dropped"));
    }
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.reset();
    if (!this.wanted) return;
    const delay = Math.min(RECONNECT_FIRST_MS * 2 ** this.attempt, RECONNECT_MAX_MS);
    this.attempt += 1;
    const { detail } = splitCloseReason(event.reason);
    const reason = detail ? `: ${detail}` : "";
    this.setStatus("reconnecting", `Disconnected${reason}. Reconnecting in ${(delay / 1000).toFixed(1)} s…`);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  notice(text) {
    this.dispatchEvent(new CustomEvent("notice", { detail: String(text) }));
  }

  setStatus(state, text) {
    this.dispatchEvent(new CustomEvent("status", { detail: { state, text } }));
  }
}

/** A close reason `type: detail` (the server's stable error type first) as its two parts. */
export function splitCloseReason(reason = "") {
  const match = /^([a-z][a-z0-9_]*): (.*)$/s.exec(reason);
  return match ? { type: match[1], detail: match[2] } : { type: "", detail: reason };
}
