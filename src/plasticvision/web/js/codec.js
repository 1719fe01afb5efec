// JPEG encode/decode for the live stream: in a worker with OffscreenCanvas where the browser has
// one, so a 30 fps stream leaves the page responsive; on the main thread otherwise.

/** `?codec=main` on the page's URL keeps the codec on the main thread (to compare; a worker is the default). */
function workerWanted() {
  const available = typeof Worker !== "undefined" && typeof OffscreenCanvas !== "undefined";
  return available && new URLSearchParams(location.search).get("codec") !== "main";
}

export class Codec {
  constructor() {
    this.pending = new Map();
    this.nextId = 1;
    this.worker = null;
    if (workerWanted()) {
      this.worker = new Worker(new URL("./codec-worker.js", import.meta.url), { type: "module" });
      this.worker.onmessage = ({ data }) => this.settle(data);
    } else {
      this.canvas = document.createElement("canvas");
    }
  }

  get offMainThread() {
    return this.worker !== null;
  }

  /** A JPEG Blob of `bitmap` (closed afterwards) scaled to width × height. */
  encode(bitmap, width, height, quality) {
    if (this.worker) return this.call({ op: "encode", bitmap, width, height, quality }, [bitmap]);
    this.canvas.width = width;
    this.canvas.height = height;
    this.canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
    bitmap.close();
    return new Promise((resolve, reject) => {
      this.canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("JPEG encoding failed"))), "image/jpeg", quality);
    });
  }

  /** An ImageBitmap of the JPEG in `buffer` from byte `offset` on (the buffer is handed over). */
  decode(buffer, offset) {
    if (this.worker) return this.call({ op: "decode", buffer, offset }, [buffer]);
    return createImageBitmap(new Blob([new Uint8Array(buffer, offset)], { type: "image/jpeg" }));
  }

  call(message, transfer) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  settle({ id, result, error }) {
    const waiting = this.pending.get(id);
    this.pending.delete(id);
    if (!waiting) return;
    if (error) waiting.reject(new Error(error));
    else waiting.resolve(result);
  }
}
