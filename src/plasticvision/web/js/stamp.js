// A capture time drawn as black and white cells above a frame, read back from the swapped frame:
// latency measured end to end through a video codec. The twin of plasticvision/client/stamp.py.

export const STRIP_HEIGHT = 16;
const BITS = 24;
const CELLS = BITS + 2; // a white and a black guard cell, then the bits, most significant first
const MODULO = 2 ** BITS;

/** Draws the strip for `captureMs` in rows 0..15 of a canvas `width` px wide. */
export function drawStamp(context, width, captureMs) {
  const size = Math.floor(width / CELLS);
  const value = Math.floor(captureMs) % MODULO;
  context.fillStyle = "#000";
  context.fillRect(0, 0, width, STRIP_HEIGHT);
  context.fillStyle = "#fff";
  context.fillRect(0, 0, size, STRIP_HEIGHT);
  for (let bit = 0; bit < BITS; bit += 1) {
    if ((value >> (BITS - 1 - bit)) & 1) context.fillRect((bit + 2) * size, 0, size, STRIP_HEIGHT);
  }
}

/** The stamped time from RGBA pixels of the strip (`width` px wide, STRIP_HEIGHT rows); null without one. */
export function readStamp(pixels, width) {
  const size = Math.floor(width / CELLS);
  const level = (cell) => {
    let sum = 0;
    let count = 0;
    for (let y = 4; y < STRIP_HEIGHT - 4; y += 2) {
      for (let x = cell * size + (size >> 2); x < (cell + 1) * size - (size >> 2); x += 2) {
        const i = (y * width + x) * 4;
        sum += (pixels[i] + pixels[i + 1] + pixels[i + 2]) / 3;
        count += 1;
      }
    }
    return sum / count;
  };
  if (!(level(0) > 160 && level(1) < 96)) return null;
  let value = 0;
  for (let cell = 2; cell < CELLS; cell += 1) value = value * 2 + (level(cell) > 128 ? 1 : 0);
  return value;
}

/** `nowMs - stamped` across the 2^24 wrap. */
export function elapsedMs(nowMs, stamped) {
  return (((Math.floor(nowMs) - stamped) % MODULO) + MODULO) % MODULO;
}
