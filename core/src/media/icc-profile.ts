/**
 * Whether an embedded ICC profile describes sRGB (so that dropping it, and letting the browser
 * assume sRGB, shows the same colours). Reads the profile's colour space and its description
 * (`desc`: ICC v2 text, or v4 `mluc` UTF-16): "sRGB IEC61966-2.1" and its kin. Pure bytes.
 */

const ascii = (bytes: Uint8Array, start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end));

/** The profile's description, or null when it has none that can be read. */
export function iccDescription(icc: Uint8Array): string | null {
  if (icc.length < 132) return null;
  const view = new DataView(icc.buffer, icc.byteOffset, icc.byteLength);
  const tags = Math.min(view.getUint32(128), 256);
  for (let i = 0; i < tags; i++) {
    const entry = 132 + i * 12;
    if (entry + 12 > icc.length) return null;
    if (ascii(icc, entry, entry + 4) !== "desc") continue;
    const offset = view.getUint32(entry + 4);
    const size = view.getUint32(entry + 8);
    if (offset + size > icc.length || size < 12) return null;
    const type = ascii(icc, offset, offset + 4);
    if (type === "desc") {
      const count = view.getUint32(offset + 8);
      return ascii(icc, offset + 12, Math.min(offset + 12 + count, offset + size)).replace(/\0+$/, "");
    }
    if (type === "mluc") {
      const records = view.getUint32(offset + 8);
      if (records < 1 || offset + 28 > icc.length) return null;
      const length = view.getUint32(offset + 20);
      const start = offset + view.getUint32(offset + 24);
      if (start + length > icc.length) return null;
      let text = "";
      for (let j = 0; j + 1 < length; j += 2) text += String.fromCharCode(view.getUint16(start + j));
      return text.replace(/\0+$/, "");
    }
    return null;
  }
  return null;
}

/** An RGB profile described as sRGB (IEC 61966-2.1): the colours browsers assume without a profile. */
export function isSrgbProfile(icc: Uint8Array): boolean {
  if (icc.length < 132 || ascii(icc, 16, 20) !== "RGB ") return false;
  return /\bsRGB\b/i.test(iccDescription(icc) ?? "");
}
