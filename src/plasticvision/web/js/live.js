// The live panel: camera → encode (worker) → stream → decode (worker) → preview canvas, the
// start/stop button, status, meters, and a line saying where the time goes (server vs network).
import { Camera } from "./camera.js";
import { Codec } from "./codec.js";
import { clearMessage, showMessage } from "./dom.js";
import { describe } from "./pacing.js";
import { FrameStats, LinkMeter } from "./stats.js";
import { probeWebRTC, WebRTCStream } from "./webrtc.js";

const METER_REFRESH_MS = 250;

export class LivePanel {
  constructor({ elements, stream, connection, consent }) {
    this.el = elements;
    this.stream = stream;
    this.connection = connection;
    this.rtc = new WebRTCStream(connection, elements.preview);
    this.iceServers = [];
    this.usingRtc = false;
    this.probed = false;
    this.linkMeter = new LinkMeter();
    this.consent = consent;
    this.camera = new Camera(elements.camera);
    this.codec = new Codec();
    this.stats = new FrameStats();
    this.context = elements.preview.getContext("2d");
    this.freshFrameMs = null; // capture time of a camera frame not yet sent
    this.encoding = false;
    this.decoding = false;
    this.waitingReply = null; // the newest reply that arrived while another decoded
    this.lastDrawnSeq = 0;
    this.meterTimer = 0;

    elements.button.addEventListener("click", () => (this.camera.running ? this.stop() : this.start()));
    stream.addEventListener("status", (event) => this.showStatus(event.detail));
    stream.addEventListener("frame", (event) => this.draw(event.detail));
    stream.addEventListener("slot", () => this.pump());
    stream.addEventListener("dropped", () => this.stats.countDropped());
    stream.addEventListener("notice", (event) => showMessage(elements.message, event.detail, "error"));
    this.rtc.addEventListener("status", (event) => this.showStatus(event.detail));
    this.rtc.addEventListener("sent", () => this.stats.countSent(this.rtcSending()));
    this.rtc.addEventListener("frame", (event) => this.rtcFrame(event.detail.latencyMs));
    this.rtc.addEventListener("failed", (event) => this.fallBack(event.detail));
    this.refreshMeters();
  }

  /** Offer WebRTC in the transport switch when the server has /whip, and make it the default then. */
  async probeTransports() {
    const { offered, iceServers } = await probeWebRTC(this.connection);
    this.iceServers = iceServers;
    const option = this.el.transport.querySelector("option[value=webrtc]");
    option.disabled = !offered;
    if (this.probed && !option.disabled) return; // keep the user's choice once made
    this.probed = true;
    const asked = new URLSearchParams(location.search).get("transport");
    this.el.transport.value = offered && asked !== "websocket" ? "webrtc" : "websocket";
  }

  get transport() {
    return this.usingRtc ? this.rtc : this.stream;
  }

  rtcSending() {
    const { codec, width, height } = this.rtc.sending;
    return { quality: codec, width, height, inFlight: 0, window: 0 };
  }

  rtcFrame(latencyMs) {
    if (latencyMs === null) return; // no stamp: a frame from before the strip was read, or a notice
    this.stats.countReceived(latencyMs, null);
  }

  /** ICE failed (UDP blocked, a strict firewall): carry on over the WebSocket. */
  fallBack(reason) {
    if (!this.camera.running) return;
    showMessage(this.el.message, `WebRTC: ${reason}; using the WebSocket instead`, "error");
    this.usingRtc = false;
    this.el.transport.value = "websocket";
    this.stream.start();
  }

  async start() {
    if (!this.consent.require()) return;
    clearMessage(this.el.message);
    this.el.button.disabled = true;
    try {
      await this.camera.start((captureMs) => {
        if (this.usingRtc) {
          this.rtc.send(captureMs);
          return;
        }
        this.freshFrameMs = captureMs;
        this.pump();
      });
    } catch (error) {
      this.showStatus({ state: "error", text: "Camera unavailable" });
      showMessage(this.el.message, `Camera: ${error.message}`, "error");
      return;
    } finally {
      this.el.button.disabled = false;
    }
    this.stats.reset();
    this.linkMeter.reset();
    this.usingRtc = this.el.transport.value === "webrtc";
    this.el.transport.disabled = true;
    if (this.usingRtc) this.rtc.start(this.camera, this.iceServers);
    else this.stream.start();
    this.el.button.textContent = "Stop camera";
    this.el.stage.classList.add("running");
    this.meterTimer = setInterval(() => this.refreshMeters(), METER_REFRESH_MS);
  }

  stop() {
    this.camera.stop();
    this.rtc.stop();
    this.stream.stop();
    this.usingRtc = false;
    this.el.transport.disabled = false;
    clearInterval(this.meterTimer);
    this.el.button.textContent = "Start camera";
    this.el.stage.classList.remove("running");
    this.context.clearRect(0, 0, this.el.preview.width, this.el.preview.height);
    this.refreshMeters();
  }

  /** Send the newest camera frame when the stream has room for it; one encode at a time. */
  async pump() {
    if (this.usingRtc || this.freshFrameMs === null || this.encoding || !this.stream.canSend) return;
    const captureMs = this.freshFrameMs;
    this.freshFrameMs = null;
    this.encoding = true;
    try {
      const { quality, width: maxWidth } = this.stream.level;
      const size = this.camera.sizeFor(maxWidth);
      const started = performance.now();
      const jpeg = await this.codec.encode(await this.camera.grab(size), size.width, size.height, quality / 100);
      this.stats.countStage("wait", started - captureMs);
      this.stats.countStage("encode", performance.now() - started);
      if (this.stream.canSend) {
        this.stream.send(jpeg, captureMs);
        this.stats.countSent({ quality, ...size, inFlight: this.stream.inFlight, window: this.stream.pacer.window });
      }
    } catch (error) {
      if (this.camera.running) showMessage(this.el.message, error.message, "error");
    } finally {
      this.encoding = false;
    }
    this.pump();
  }

  /** Draw a reply unless a newer one was drawn first (then it is dropped, never drawn). One decode at
   * a time, newest first: a reply that arrives while one decodes waits, replacing any older waiting one,
   * so a busy page skips frames instead of falling behind. */
  async draw(reply) {
    if (reply.seq <= this.lastDrawnSeq) {
      this.stats.countDropped();
      return;
    }
    if (this.decoding) {
      if (this.waitingReply) this.stats.countDropped();
      this.waitingReply = reply;
      return;
    }
    this.decoding = true;
    try {
      await this.show(reply);
    } finally {
      this.decoding = false;
    }
    const next = this.waitingReply;
    this.waitingReply = null;
    if (next) this.draw(next);
  }

  async show({ buffer, offset, seq, captureTimeMs, serverMs }) {
    let bitmap;
    const started = performance.now();
    try {
      bitmap = await this.codec.decode(buffer, offset);
      this.stats.countStage("decode", performance.now() - started);
    } catch {
      showMessage(this.el.message, "The server sent a frame that is not an image", "error");
      return;
    }
    if (seq <= this.lastDrawnSeq || !this.camera.running) {
      bitmap.close();
      this.stats.countDropped();
      return;
    }
    this.lastDrawnSeq = seq;
    const canvas = this.el.preview;
    if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
    }
    this.context.drawImage(bitmap, 0, 0);
    bitmap.close();
    this.stats.countReceived(performance.now() - captureTimeMs, serverMs);
  }

  showStatus({ state, text }) {
    if (state !== "live") this.lastDrawnSeq = 0; // a new connection numbers its frames from 1 again
    this.el.status.textContent = text;
    this.el.status.dataset.state = state;
  }

  refreshMeters() {
    const { fps, latencyMs, sent, received, dropped, serverMs, sending } = this.stats;
    const live = this.camera.running;
    this.el.fps.textContent = live ? fps.toFixed(0) : "–";
    this.el.latency.textContent = live && latencyMs !== null ? latencyMs.toFixed(0) : "–";
    this.el.sent.textContent = sent;
    this.el.received.textContent = received;
    this.el.dropped.textContent = dropped;
    this.el.level.textContent = live && sending ? this.levelText(sending) : "–";
    this.refreshLink(live);
    this.el.preview.dataset.framesSent = sent;
    this.el.preview.dataset.framesReceived = received;
    this.el.link.textContent = live && sending ? this.linkLine(serverMs, sending) : "";
  }

  levelText(sending) {
    const quality = typeof sending.quality === "number" ? `q${sending.quality}` : sending.quality;
    return `${quality} ${sending.width}×${sending.height}`;
  }

  /** Bitrate each way and packet loss, from the transport's byte and packet counts. */
  async refreshLink(live) {
    const link = live ? await this.transport.readLink() : null;
    const rates = live ? this.linkMeter.update(performance.now(), link) : null;
    this.stats.link = rates;
    this.el.bitrate.textContent = rates ? `${rates.sentMbps.toFixed(2)} / ${rates.receivedMbps.toFixed(2)}` : "–";
    this.el.loss.textContent = rates && rates.lossPercent !== null ? rates.lossPercent.toFixed(1) : "–";
  }

  /** Where a frame's time goes: this page (encode, decode), the network and the server. */
  linkLine(serverMs, sending) {
    if (this.usingRtc) return "WebRTC: the browser's congestion control sets the bitrate";
    const pacer = this.stream.pacer;
    const { encode = 0, decode = 0 } = this.stats.stagesMs;
    const where =
      `page ${(encode + decode).toFixed(0)} ms · network ${pacer.baseMs.toFixed(0)} ms · ` +
      `server ${(serverMs ?? 0).toFixed(0)} ms · ${this.stream.inFlight}/${pacer.window} in flight`;
    return pacer.linkLimited ? `${describe(pacer, performance.now(), sending.height)} · ${where}` : where;
  }
}
