// The webcam: getUserMedia at 640x480, a callback once per new video frame (requestVideoFrameCallback)
// with its capture time, and a cheap grab of the current frame as an ImageBitmap at a given width.

const WIDTH = 640;
const HEIGHT = 480;
const FALLBACK_FRAME_MS = 33;

export class Camera {
  constructor(video) {
    this.video = video;
    this.stream = null;
    this.frameCallback = null;
    this.timer = 0;
  }

  get running() {
    return this.stream !== null;
  }

  async start(onFrame) {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new Error("this page needs HTTPS or localhost to use the camera");
    }
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: WIDTH }, height: { ideal: HEIGHT }, facingMode: "user" },
      audio: false,
    });
    this.video.srcObject = this.stream;
    await this.video.play();
    this.frameCallback = onFrame;
    this.watchFrames();
  }

  stop() {
    this.frameCallback = null;
    clearInterval(this.timer);
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.video.srcObject = null;
  }

  /** Calls back once per camera frame with its capture time (performance.now() ms). */
  watchFrames() {
    if (!("requestVideoFrameCallback" in this.video)) {
      this.timer = setInterval(() => this.frameCallback?.(performance.now()), FALLBACK_FRAME_MS);
      return;
    }
    const next = (now, metadata) => {
      if (!this.frameCallback) return;
      const captured = metadata?.captureTime;
      const plausible = Number.isFinite(captured) && captured <= now && captured > now - 1000;
      this.frameCallback(plausible ? captured : now);
      this.video.requestVideoFrameCallback(next);
    };
    this.video.requestVideoFrameCallback(next);
  }

  /** The frame size at most `maxWidth` wide, keeping the camera's aspect ratio. */
  sizeFor(maxWidth) {
    const scale = Math.min(1, maxWidth / this.video.videoWidth);
    return { width: Math.round(this.video.videoWidth * scale), height: Math.round(this.video.videoHeight * scale) };
  }

  /** The current frame as an ImageBitmap of the given size (cheap: no encoding here). */
  grab({ width, height }) {
    if (width === this.video.videoWidth && height === this.video.videoHeight) return createImageBitmap(this.video);
    return createImageBitmap(this.video, { resizeWidth: width, resizeHeight: height, resizeQuality: "medium" });
  }
}
