/**
 * Content sniffing: the real type of an object from its first bytes (file-type's magic-byte
 * detection), and whether it matches the declared type. Declared types are never trusted alone.
 */
import { fileTypeFromBuffer } from "file-type";

/** How many leading bytes detection reads (file-type needs up to ~4 KiB; ISO-BMFF boxes a little more). */
export const SNIFF_BYTES = 16 * 1024;

/**
 * Detected types each declared type accepts. Containers are ambiguous: ISO-BMFF files carry
 * `ftyp` brands that make a phone's MP4 look like QuickTime and back, HEIC files may be branded
 * `mif1` (HEIF), and animated PNGs are still PNGs. Anything not listed is a mismatch.
 */
export const ACCEPTED_DETECTIONS: Readonly<Record<string, readonly string[]>> = {
  "image/jpeg": ["image/jpeg"],
  "image/png": ["image/png", "image/apng"],
  "image/webp": ["image/webp"],
  "image/heic": ["image/heic", "image/heic-sequence", "image/heif", "image/heif-sequence"],
  "video/mp4": ["video/mp4", "video/x-m4v", "video/quicktime"],
  "video/quicktime": ["video/quicktime", "video/mp4"],
  "video/webm": ["video/webm"],
  "application/pdf": ["application/pdf"],
};

/** The MIME type file-type detects in `bytes`, or null when it recognises nothing (text, HTML, SVG…). */
export async function detectType(bytes: Uint8Array): Promise<string | null> {
  return (await fileTypeFromBuffer(bytes))?.mime ?? null;
}

/** Whether bytes detected as `detected` may be stored as `declared`. */
export function matchesDeclared(declared: string, detected: string | null): boolean {
  // Own entries only, so a declared "constructor" is a mismatch rather than a TypeError.
  return detected !== null && Object.hasOwn(ACCEPTED_DETECTIONS, declared) && ACCEPTED_DETECTIONS[declared]!.includes(detected);
}

/** Sniffs `bytes` and answers whether they are what `declared` claims, with what was detected. */
export async function sniff(declared: string, bytes: Uint8Array): Promise<{ matches: boolean; detected: string | null }> {
  const detected = await detectType(bytes);
  return { matches: matchesDeclared(declared, detected), detected };
}
