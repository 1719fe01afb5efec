// Labels a browser recording as synthetic: a Matroska Tags element (COMMENT, DESCRIPTION and
// DIGITAL_SOURCE_TYPE, the words our images and MP4s carry) inserted before the first Cluster of
// a MediaRecorder WebM. MediaRecorder itself cannot write tags. FFmpeg, PyAV and mkvinfo read them
// as the file's metadata. A file whose layout is not the expected one is returned unchanged.

const NOTE = "Synthetic: face swapped by PlasticVision (AI-generated composite).";
const SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia";
const TAGS = { COMMENT: NOTE, DESCRIPTION: NOTE, DIGITAL_SOURCE_TYPE: SOURCE_TYPE };

const ID = {
  ebml: 0x1a45dfa3, segment: 0x18538067, cluster: 0x1f43b675,
  tags: 0x1254c367, tag: 0x7373, targets: 0x63c0, simpleTag: 0x67c8, tagName: 0x45a3, tagString: 0x4487,
};
const HEADER_BYTES = 64 * 1024; // the EBML header, Info and Tracks come well before this

function idBytes(id) {
  const bytes = [];
  for (let value = id; value > 0; value = Math.floor(value / 256)) bytes.unshift(value & 0xff);
  return bytes;
}

/** An element with an 8-byte size field (valid EBML for any size, and simple to write). */
function element(id, payload) {
  const size = [0x01];
  for (let shift = 6; shift >= 0; shift -= 1) size.push(Math.floor(payload.length / 2 ** (8 * shift)) & 0xff);
  return Uint8Array.from([...idBytes(id), ...size, ...payload]);
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function tagsElement() {
  const text = (value) => new TextEncoder().encode(value);
  const simpleTags = Object.entries(TAGS).map(([name, value]) =>
    element(ID.simpleTag, concat([element(ID.tagName, text(name)), element(ID.tagString, text(value))])),
  );
  return element(ID.tags, element(ID.tag, concat([element(ID.targets, []), ...simpleTags])));
}

/** A variable-length integer at `at`: {value, length, unknown}; IDs keep their marker bit. */
function readVint(bytes, at, keepMarker) {
  const first = bytes[at];
  let length = 1;
  while (length <= 8 && !(first & (0x80 >> (length - 1)))) length += 1;
  if (length > 8 || at + length > bytes.length) return null;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i += 1) {
    value = value * 256 + bytes[at + i];
    allOnes = allOnes && bytes[at + i] === 0xff;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

/** Where the first Cluster starts, or -1 when the head is not EBML header + Segment + sized elements. */
function firstClusterOffset(bytes) {
  let at = 0;
  let inSegment = false;
  while (at < bytes.length) {
    const id = readVint(bytes, at, true);
    if (!id) return -1;
    const size = readVint(bytes, at + id.length, false);
    if (!size) return -1;
    if (id.value === ID.cluster && inSegment) return at;
    const body = at + id.length + size.length;
    if (id.value === ID.segment) {
      if (!size.unknown) return -1; // a sized segment would need its size rewritten; MediaRecorder never writes one
      inSegment = true;
      at = body;
    } else if (size.unknown || (!inSegment && id.value !== ID.ebml)) {
      return -1;
    } else {
      at = body + size.value;
    }
  }
  return -1;
}

/** The recording with the synthetic-media tags in it (or unchanged if its layout is unexpected). */
export async function labelSynthetic(blob) {
  const head = new Uint8Array(await blob.slice(0, HEADER_BYTES).arrayBuffer());
  const at = firstClusterOffset(head);
  if (at < 0) return blob;
  return new Blob([blob.slice(0, at), tagsElement(), blob.slice(at)], { type: blob.type });
}
