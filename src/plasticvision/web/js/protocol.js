// Stream protocol 2, the page's end of plasticvision/protocol.py (the spec: same layout, network order).
//   frame  = header(17) + JPEG: "PV", version 2, flags 0, seq u32, capture time f64 ms, reply quality u8
//   reply  = header(24) + JPEG: "PV", version 2, kind u8, seq u32, capture time f64, server ms f32, work ms f32

export const PROTOCOL = 2;
export const FRAME_HEADER_BYTES = 17;
export const REPLY_HEADER_BYTES = 24;
export const KIND_FRAME = 0;
export const KIND_DROPPED = 1;

export function frameHeader(seq, captureTimeMs, replyQuality = 0) {
  const header = new DataView(new ArrayBuffer(FRAME_HEADER_BYTES));
  header.setUint8(0, 0x50); // "P"
  header.setUint8(1, 0x56); // "V"
  header.setUint8(2, PROTOCOL);
  header.setUint8(3, 0);
  header.setUint32(4, seq);
  header.setFloat64(8, captureTimeMs);
  header.setUint8(16, replyQuality);
  return header.buffer;
}

/** The reply's header fields, or null when the buffer is not a protocol-2 reply. */
export function parseReply(buffer) {
  if (buffer.byteLength < REPLY_HEADER_BYTES) return null;
  const view = new DataView(buffer);
  if (view.getUint8(0) !== 0x50 || view.getUint8(1) !== 0x56 || view.getUint8(2) !== PROTOCOL) return null;
  return {
    kind: view.getUint8(3),
    seq: view.getUint32(4),
    captureTimeMs: view.getFloat64(8),
    serverMs: view.getFloat32(16),
    workMs: view.getFloat32(20),
  };
}
