// Record: saves the live swapped stream (the preview canvas, through captureStream and
// MediaRecorder) to a WebM in the browser, labelled synthetic; nothing is uploaded.
import { showMessage } from "./dom.js";
import { labelSynthetic } from "./webm_label.js";

const FRAME_RATE = 30;
const BITS_PER_SECOND = 4_000_000;
const CHUNK_MS = 1000;
const TYPES = ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm"];

function recordingName(date) {
  const stamp = date.toISOString().slice(0, 19).replaceAll(":", "-").replace("T", "_");
  return `plasticvision-synthetic-${stamp}.webm`;
}

export class Recorder {
  constructor({ button, preview, link, message }) {
    this.button = button;
    this.preview = preview;
    this.link = link;
    this.message = message;
    this.recorder = null;
    this.chunks = [];
    this.url = null;
    button.addEventListener("click", () => (this.recording ? this.stop() : this.start()));
  }

  get recording() {
    return this.recorder !== null && this.recorder.state !== "inactive";
  }

  start() {
    const type = TYPES.find((candidate) => window.MediaRecorder?.isTypeSupported(candidate));
    if (!type) {
      showMessage(this.message, "This browser cannot record video (no WebM MediaRecorder)", "error");
      return;
    }
    const stream = this.preview.captureStream(FRAME_RATE);
    this.chunks = [];
    this.startedAt = new Date();
    this.recorder = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: BITS_PER_SECOND });
    this.recorder.addEventListener("dataavailable", (event) => event.data.size && this.chunks.push(event.data));
    this.recorder.addEventListener("stop", () => this.finish(stream, type));
    this.recorder.start(CHUNK_MS);
    this.button.textContent = "Stop recording";
    this.button.dataset.recording = "on";
  }

  stop() {
    this.recorder.stop(); // the last chunk, then "stop"
    this.button.disabled = true;
  }

  async finish(stream, type) {
    stream.getTracks().forEach((track) => track.stop());
    const seconds = (Date.now() - this.startedAt.getTime()) / 1000;
    const blob = await labelSynthetic(new Blob(this.chunks, { type }));
    this.chunks = [];
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = URL.createObjectURL(blob);
    this.link.href = this.url;
    this.link.download = recordingName(this.startedAt);
    this.link.textContent = `Download recording (${seconds.toFixed(0)} s, ${(blob.size / 1e6).toFixed(1)} MB, WebM)`;
    this.link.hidden = false;
    this.button.textContent = "Record";
    this.button.dataset.recording = "off";
    this.button.disabled = false;
  }
}
