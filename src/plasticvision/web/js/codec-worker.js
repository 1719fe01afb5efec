// JPEG encode and decode off the page's main thread: camera bitmaps in, JPEG blobs out; reply
// JPEGs in, bitmaps out. Messages carry an id, answered with {id, result} or {id, error}.

let canvas = null;
let context = null;

async function encode({ bitmap, width, height, quality }) {
  if (!canvas || canvas.width !== width || canvas.height !== height) {
    canvas = new OffscreenCanvas(width, height);
    context = canvas.getContext("2d");
  }
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return canvas.convertToBlob({ type: "image/jpeg", quality });
}

function decode({ buffer, offset }) {
  return createImageBitmap(new Blob([new Uint8Array(buffer, offset)], { type: "image/jpeg" }));
}

self.onmessage = async ({ data }) => {
  try {
    const result = await (data.op === "encode" ? encode(data) : decode(data));
    self.postMessage({ id: data.id, result }, result instanceof ImageBitmap ? [result] : []);
  } catch (error) {
    self.postMessage({ id: data.id, error: String(error?.message ?? error) });
  }
};
