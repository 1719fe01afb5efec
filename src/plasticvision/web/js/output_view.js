// The clean output view: the swapped video alone in a pop-out window, at the stream's size and
// without controls, for OBS "Window capture" (or any screen share). The window shows the preview
// canvas through canvas.captureStream(), so it needs no connection of its own and mirrors exactly
// what the preview shows.

const TITLE = "PlasticVision output";
const WINDOW_NAME = "plasticvision-output";
const FRAME_RATE = 30;

export class OutputView {
  constructor({ button, preview }) {
    this.button = button;
    this.preview = preview;
    this.window = null;
    this.stream = null;
    button.addEventListener("click", () => this.open());
  }

  get isOpen() {
    return this.window !== null && !this.window.closed;
  }

  /** Open the pop-out (or bring it to the front); must run inside a click for browsers to allow it. */
  open() {
    if (this.isOpen) {
      this.window.focus();
      return this.window;
    }
    const { width, height } = this.preview;
    const popup = window.open("", WINDOW_NAME, `popup,width=${width},height=${height}`);
    if (!popup) {
      this.button.title = "The browser blocked the pop-out window: allow pop-ups for this page";
      return null;
    }
    this.window = popup;
    this.stream = this.preview.captureStream(FRAME_RATE);
    const video = this.build(popup.document);
    video.srcObject = this.stream;
    // autoplay alone may not start a script-built window's video when the canvas's first frame
    // arrives late (a busy machine): ask for playback too; a refusal leaves autoplay to try.
    video.play().catch(() => {});
    video.addEventListener("resize", () => this.fitWindow(video));
    popup.addEventListener("pagehide", () => this.closed());
    return popup;
  }

  build(doc) {
    const style = doc.createElement("style");
    style.textContent =
      "html,body{margin:0;height:100%;background:#000;overflow:hidden}" +
      "video{display:block;margin:auto;max-width:100%;max-height:100%;object-fit:contain}";
    doc.head.replaceChildren(style);
    doc.title = TITLE;
    const video = doc.createElement("video");
    video.autoplay = video.muted = video.playsInline = true;
    video.disablePictureInPicture = true;
    video.dataset.testid = "output-video";
    doc.body.replaceChildren(video);
    return video;
  }

  /** Keep the window at the stream's own size when the stream's size changes. */
  fitWindow(video) {
    const popup = this.window;
    if (!this.isOpen || !video.videoWidth) return;
    const chromeWidth = popup.outerWidth - popup.innerWidth;
    const chromeHeight = popup.outerHeight - popup.innerHeight;
    popup.resizeTo(video.videoWidth + chromeWidth, video.videoHeight + chromeHeight);
  }

  closed() {
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.window = null;
  }
}
