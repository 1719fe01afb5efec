// The webcam: getUserMedia at 640x480, a callback per new video frame, JPEG encoding of the latest frame.

const WIDTH = 640;
const HEIGHT = 480;
const JPEG_QUALITY = 0.7;
const FALLBACK_FRAME_MS = 33;

export class Camera {
  constructor(video) {
    this.video = video;
    this.stream = null;
    this.canvas = document.createElement("canvas");
    this.context = this.canvas.getContext("2d");
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

  watchFrames() {
    if (!("requestVideoFrameCallback" in this.video)) {
      this.timer = setInterval(() => this.frameCallback?.(), FALLBACK_FRAME_MS);
      return;
    }
    const next = () => {
      if (!this.frameCallback) return;
      this.frameCallback();
      this.video.requestVideoFrameCallback(next);
    };
    this.video.requestVideoFrameCallback(next);
  }

  /** The current video frame as a JPEG Blob, at most 640 pixels wide. */
  encode() {
    const scale = Math.min(1, WIDTH / this.video.videoWidth);
    const width = Math.round(this.video.videoWidth * scale);
    const height = Math.round(this.video.videoHeight * scale);
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.context.drawImage(this.video, 0, 0, width, height);
    return new Promise((resolve, reject) => {
      const done = (blob) => (blob ? resolve(blob) : reject(new Error("JPEG encoding failed")));
      this.canvas.toBlob(done, "image/jpeg", JPEG_QUALITY);
    });
  }
}
