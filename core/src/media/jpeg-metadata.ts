/**
 * Lossless removal of a JPEG's metadata: the file is rewritten marker by marker, keeping the
 * segments that define the picture (frame, tables, scans, restart intervals, the JFIF and Adobe
 * markers that say how to read the colours) and dropping every segment that only describes it —
 * EXIF (GPS, serial numbers, time taken, maker notes, embedded thumbnails), XMP, IPTC/Photoshop,
 * ICC profiles, FlashPix, Multi-Picture indexes and comments — and whatever follows the end of the
 * image (the second pictures, depth and gain maps phones append). The coded pixels are copied
 * byte for byte, so nothing is lost and the same input always gives the same output. Pure bytes.
 */

/** The file is not a JPEG whose markers can be walked: process it by re-encoding instead. */
export class JpegStructureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JpegStructureError";
  }
}

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP0 = 0xe0;
const APP14 = 0xee;
const COM = 0xfe;

/** Segments kept: every marker that is not APPn or COM, plus APP0 "JFIF" and APP14 "Adobe" (colour transform). */
function keeps(marker: number, payload: Uint8Array, keepIccProfile: boolean): boolean {
  if (marker === COM) return false;
  if (marker < APP0 || marker > 0xef) return true;
  const id = String.fromCharCode(...payload.subarray(0, 12));
  if (marker === APP0) return id.startsWith("JFIF\0");
  if (marker === APP14) return id.startsWith("Adobe");
  if (marker === APP0 + 2 && keepIccProfile) return id === "ICC_PROFILE\0";
  return false;
}

/** EXIF holding the Orientation tag alone (a little-endian TIFF header, one IFD of one entry): 32 bytes. */
export function orientationExif(orientation: number): Buffer {
  const exif = Buffer.alloc(32);
  exif.write("Exif\0\0", 0, "latin1");
  exif.write("II*\0", 6, "latin1");
  exif.writeUInt32LE(8, 10); // IFD0 right after the 8-byte TIFF header
  exif.writeUInt16LE(1, 14); // one entry
  exif.writeUInt16LE(0x0112, 16); // Orientation
  exif.writeUInt16LE(3, 18); // SHORT
  exif.writeUInt32LE(1, 20); // count
  exif.writeUInt16LE(orientation, 24); // value, left-justified in the 4-byte field
  exif.writeUInt32LE(0, 28); // no next IFD
  return exif;
}

const segment = (marker: number, payload: Uint8Array): Buffer => {
  const header = Buffer.from([0xff, marker, 0, 0]);
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([header, payload]);
};

export interface StripOptions {
  /**
   * The EXIF orientation (2–8) to keep, as the only tag of a minimal EXIF segment, so that browsers
   * (which honour EXIF orientation for images by default) still show the picture upright. 1 or
   * absent: none written.
   */
  orientation?: number;
  /** Keep the ICC profile (the pixels need it to be read in the right colours). */
  keepIccProfile?: boolean;
}

/**
 * Invariant: the output holds exactly the input's coded pixels (every byte from its first SOS to
 * its EOI, and every table and frame segment), no APPn segment but JFIF, Adobe, the optional
 * orientation-only EXIF and (if asked) the ICC profile, no comment, and nothing after EOI.
 * Throws JpegStructureError when the markers cannot be walked (not a JPEG, truncated, no EOI).
 */
export function stripJpegMetadata(input: Uint8Array, options: StripOptions = {}): Buffer {
  const bytes = input;
  if (bytes[0] !== 0xff || bytes[1] !== SOI) throw new JpegStructureError("no start-of-image marker");
  const out: Uint8Array[] = [Buffer.from([0xff, SOI])];
  const orientation = options.orientation ?? 1;
  let wroteOrientation = orientation === 1;
  let offset = 2;
  while (offset < bytes.length) {
    if (bytes[offset] !== 0xff) throw new JpegStructureError(`no marker at byte ${offset}`);
    let marker = bytes[offset + 1];
    // Fill bytes (0xFF repeated) may precede a marker.
    while (marker === 0xff) marker = bytes[++offset + 1];
    if (marker === undefined) break;
    if (marker === EOI) {
      out.push(Buffer.from([0xff, EOI]));
      return Buffer.concat(out);
    }
    if (marker === SOI || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) throw new JpegStructureError(`unexpected marker ${marker.toString(16)}`);
    if (offset + 4 > bytes.length) break;
    const length = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
    if (length < 2 || offset + 2 + length > bytes.length) break;
    const payload = bytes.subarray(offset + 4, offset + 2 + length);
    // The orientation-only EXIF goes right after SOI/JFIF, before the first segment that is not APP0.
    if (!wroteOrientation && marker !== APP0) {
      out.push(segment(APP0 + 1, orientationExif(orientation)));
      wroteOrientation = true;
    }
    if (keeps(marker, payload, options.keepIccProfile ?? false)) out.push(bytes.subarray(offset, offset + 2 + length));
    offset += 2 + length;
    if (marker === SOS) {
      // Entropy-coded data: runs to the next marker that is neither a stuffed 0xFF00 nor a restart marker.
      const start = offset;
      while (offset + 1 < bytes.length && !(bytes[offset] === 0xff && bytes[offset + 1] !== 0 && (bytes[offset + 1]! < 0xd0 || bytes[offset + 1]! > 0xd7)))
        offset++;
      if (offset + 1 >= bytes.length) break;
      out.push(bytes.subarray(start, offset));
    }
  }
  throw new JpegStructureError("no end-of-image marker (truncated)");
}
