// The live panel: camera → stream → preview canvas, the start/stop button, status and meters.
import { Camera } from "./camera.js";
import { clearMessage, showMessage } from "./dom.js";
import { FrameStats } from "./stats.js";

const METER_REFRESH_MS = 250;

export class LivePanel {
  constructor({ elements, stream, consent }) {
    this.el = elements;
    this.stream = stream;
    this.consent = consent;
    this.camera = new Camera(elements.camera);
    this.stats = new FrameStats();
    this.context = elements.preview.getContext("2d");
    this.freshFrame = false;
    this.encoding = false;
    this.meterTimer = 0;

    elements.button.addEventListener("click", () => (this.camera.running ? this.stop() : this.start()));
    stream.addEventListener("status", (event) => this.showStatus(event.detail));
    stream.addEventListener("frame", (event) => this.draw(event.detail));
    stream.addEventListener("slot", () => this.pump());
    stream.addEventListener("notice", (event) => showMessage(elements.message, event.detail, "error"));
    this.refreshMeters();
  }

  async start() {
    if (!this.consent.require()) return;
    clearMessage(this.el.message);
    this.el.button.disabled = true;
    try {
      await this.camera.start(() => {
        this.freshFrame = true;
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
    this.stream.start();
    this.el.button.textContent = "Stop camera";
    this.el.stage.classList.add("running");
    this.meterTimer = setInterval(() => this.refreshMeters(), METER_REFRESH_MS);
  }

  stop() {
    this.camera.stop();
    this.stream.stop();
    clearInterval(this.meterTimer);
    this.el.button.textContent = "Start camera";
    this.el.stage.classList.remove("running");
    this.context.clearRect(0, 0, this.el.preview.width, this.el.preview.height);
    this.refreshMeters();
  }

  /** Send the newest camera frame when the stream has a free slot; at most one encode at a time. */
  async pump() {
    if (!this.freshFrame || this.encoding || !this.stream.canSend) return;
    this.freshFrame = false;
    this.encoding = true;
    try {
      const jpeg = await this.camera.encode();
      if (this.stream.canSend) {
        this.stream.send(jpeg);
        this.stats.countSent();
      }
    } catch (error) {
      showMessage(this.el.message, error.message, "error");
    } finally {
      this.encoding = false;
    }
  }

  async draw({ blob, latencyMs }) {
    this.stats.countReceived(latencyMs);
    this.pump();
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob);
    } catch {
      showMessage(this.el.message, "The server sent a frame that is not an image", "error");
      return;
    }
    const canvas = this.el.preview;
    if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
    }
    this.context.drawImage(bitmap, 0, 0);
    bitmap.close();
  }

  showStatus({ state, text }) {
    this.el.status.textContent = text;
    this.el.status.dataset.state = state;
  }

  refreshMeters() {
    const { fps, latencyMs, sent, received } = this.stats;
    const live = this.camera.running;
    this.el.fps.textContent = live ? fps.toFixed(0) : "–";
    this.el.latency.textContent = live && latencyMs !== null ? latencyMs.toFixed(0) : "–";
    this.el.sent.textContent = sent;
    this.el.received.textContent = received;
    this.el.preview.dataset.framesSent = sent;
    this.el.preview.dataset.framesReceived = received;
  }
}
