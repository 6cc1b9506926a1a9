/**
 * A camera-like test photo for the media bench: fractal value noise (detail at every scale, as
 * natural images have — a 320-px thumb of it is ~10 kB like a phone photo's, where a gradient with
 * sensor noise shrinks to ~1 kB), one luminance field with weaker colour fields, drawn at half size
 * and upscaled, plus fine grain. Deterministic for a seed.
 */
import sharp from "sharp";

/** mulberry32: a small, seeded generator. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Adds octaves of smooth value noise from `largest` cells down to `smallest` into `field`, amplitude × `decay` per octave. */
function addOctaves(field: Float32Array, width: number, height: number, random: () => number, largest: number, smallest: number, decay: number) {
  let amplitude = 1;
  for (let cell = largest; cell >= smallest; cell /= 2, amplitude *= decay) {
    const columns = Math.ceil(width / cell) + 2;
    const lattice = Float32Array.from({ length: columns * (Math.ceil(height / cell) + 2) }, () => random() * 2 - 1);
    for (let y = 0; y < height; y++) {
      const gy = y / cell;
      const y0 = Math.floor(gy);
      const fy = gy - y0;
      const sy = fy * fy * (3 - 2 * fy);
      const row0 = y0 * columns;
      const row1 = row0 + columns;
      for (let x = 0; x < width; x++) {
        const gx = x / cell;
        const x0 = Math.floor(gx);
        const fx = gx - x0;
        const sx = fx * fx * (3 - 2 * fx);
        const top = lattice[row0 + x0]! + (lattice[row0 + x0 + 1]! - lattice[row0 + x0]!) * sx;
        const bottom = lattice[row1 + x0]! + (lattice[row1 + x0 + 1]! - lattice[row1 + x0]!) * sx;
        field[y * width + x]! += amplitude * (top + (bottom - top) * sy);
      }
    }
  }
}

/** A `width`×`height` JPEG (quality 90, as phones write) of a textured picture. */
export async function texturedPhoto(width: number, height: number, seed = 7): Promise<Buffer> {
  const random = seeded(seed);
  const [w, h] = [Math.ceil(width / 2), Math.ceil(height / 2)];
  const luma = new Float32Array(w * h);
  addOctaves(luma, w, h, random, 256, 2, 0.78);
  const chroma = [new Float32Array(w * h), new Float32Array(w * h)];
  for (const field of chroma) addOctaves(field, w, h, random, 512, 32, 0.7);
  const half = Buffer.alloc(w * h * 3);
  const weights = [
    [1.0, 0.7],
    [-0.4, -0.3],
    [0.2, -0.9],
  ];
  for (let i = 0; i < w * h; i++)
    for (let c = 0; c < 3; c++)
      half[i * 3 + c] = Math.max(0, Math.min(255, 120 + luma[i]! * 55 + (chroma[0]![i]! * weights[c]![0]! + chroma[1]![i]! * weights[c]![1]!) * 30));
  const full = await sharp(half, { raw: { width: w, height: h, channels: 3 } })
    .resize(width, height, { kernel: "lanczos3" })
    .raw()
    .toBuffer();
  for (let i = 0; i < full.length; i++) full[i] = Math.max(0, Math.min(255, full[i]! + Math.round((random() - 0.5) * 8)));
  return sharp(full, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}
