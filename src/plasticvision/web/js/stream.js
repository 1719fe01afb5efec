// The live WebSocket: JPEG frames out, swapped JPEG frames back, one frame in flight,
// and reconnection with backoff while the user wants the stream.
//
// Events: "status" (detail {state, text}), "frame" (detail {blob, latencyMs}),
// "slot" (a frame slot freed without a reply: send the next one), "notice" (detail text from the server).

const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 8000;
const REPLY_TIMEOUT_MS = 10_000; // generous: the first frames on a busy CPU server can take seconds
// One frame in flight: a slow server lowers the frame rate instead of piling up latency, and as
// replies carry no frame number (the server drops a frame a newer one overtook), each reply
// then surely answers the one frame sent.
const MAX_IN_FLIGHT = 1;

export class StreamClient extends EventTarget {
  constructor(connection) {
    super();
    this.connection = connection;
    this.socket = null;
    this.connected = false;
    this.wanted = false;
    this.attempt = 0;
    this.sentAt = []; // send times of the frames in flight, oldest first
    this.reconnectTimer = 0;
    this.replyTimer = 0;
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

  get canSend() {
    return this.connected && this.sentAt.length < MAX_IN_FLIGHT;
  }

  send(blob) {
    this.sentAt.push(performance.now());
    this.socket.send(blob);
    this.armReplyTimer();
  }

  sendSettings(settings) {
    if (this.connected) this.socket.send(JSON.stringify({ settings }));
  }

  open() {
    clearTimeout(this.reconnectTimer);
    this.setStatus("connecting", this.attempt ? `Reconnecting (attempt ${this.attempt + 1})…` : "Connecting…");
    let socket;
    try {
      socket = new WebSocket(this.connection.queryUrl("/ws/stream", { websocket: true }));
    } catch (error) {
      this.setStatus("error", `Bad server URL: ${error.message}`);
      return;
    }
    socket.binaryType = "blob";
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
    this.sentAt = [];
    clearTimeout(this.replyTimer);
  }

  receive(data) {
    if (typeof data !== "string") {
      const sentAt = this.sentAt.shift();
      this.armReplyTimer();
      const latencyMs = sentAt === undefined ? null : performance.now() - sentAt;
      this.dispatchEvent(new CustomEvent("frame", { detail: { blob: data, latencyMs } }));
      return;
    }
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      message = { error: data };
    }
    if (message.status === "connected") {
      this.connected = true;
      this.attempt = 0;
      this.setStatus("live", "Live");
      this.dispatchEvent(new Event("slot"));
    } else if (message.error || message.detail) {
      // A frame the server refused: its slot is free again.
      this.sentAt.shift();
      this.armReplyTimer();
      this.notice(message.error || message.detail);
      this.dispatchEvent(new Event("slot"));
    }
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.reset();
    if (!this.wanted) return;
    const delay = Math.min(RECONNECT_FIRST_MS * 2 ** this.attempt, RECONNECT_MAX_MS);
    this.attempt += 1;
    const reason = event.reason ? `: ${event.reason}` : "";
    this.setStatus("reconnecting", `Disconnected${reason}. Reconnecting in ${(delay / 1000).toFixed(1)} s…`);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  /** A reply that never comes (a frame dropped by the server) must not stall the stream. */
  armReplyTimer() {
    clearTimeout(this.replyTimer);
    if (!this.sentAt.length) return;
    this.replyTimer = setTimeout(() => {
      this.sentAt.shift();
      this.armReplyTimer();
      this.dispatchEvent(new Event("slot"));
    }, REPLY_TIMEOUT_MS);
  }

  notice(text) {
    this.dispatchEvent(new CustomEvent("notice", { detail: String(text) }));
  }

  setStatus(state, text) {
    this.dispatchEvent(new CustomEvent("status", { detail: { state, text } }));
  }
}
