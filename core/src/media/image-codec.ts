/**
 * The image codec ports: what the media code asks of image libraries, in its own words. Adapters
 * live under core/src/adapters/ — `sharp/` (libvips) for ImageCodec, `libheif/` for HeifDecoder
 * (Debian's native `heif-convert` as a bounded child process; libheif compiled to wasm where the
 * native tool is absent) — and are injected by functions/lib/deps/image-codecs.ts, so no module of
 * the domain loads a codec (test/codec-imports.test.ts checks the imports).
 */
import type { HeifDecodePlan } from "./heif-boxes.js";

/** Decoded pixels, row-major, 8 bits per channel. */
export interface RawPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** An encoded image (any format the codec reads), or pixels already decoded. */
export type ImageInput = Uint8Array | RawPixels;

export const isRawPixels = (input: ImageInput): input is RawPixels => "channels" in input && "data" in input;

/** What the file's header says, before any pixel is decoded. */
export interface ImageHeader {
  /** "jpeg", "png", "webp", "heif", … as the codec names it. */
  format: string;
  /** As stored, before orientation. */
  width: number;
  height: number;
  /** EXIF orientation, 1 (upright) when absent. */
  orientation: number;
  /** Colour space of the stored pixels: "srgb", "b-w", "cmyk", … */
  space: string;
  channels: number;
  /** The embedded ICC profile, if any. */
  iccProfile?: Uint8Array;
}

export type OutputFormat = "jpeg" | "png" | "webp" | "avif";

export interface EncodeTarget {
  format: OutputFormat;
  /** For lossy formats. */
  quality?: number;
  /** Encoder effort, speed against size: WebP 0–6 (libwebp's method), AVIF 0–9. */
  effort?: number;
}

/** A bound on the output's size, never enlarging: the long edge, or the width. */
export type SizeBound = { longEdge: number } | { width: number };

export interface EncodedImage {
  bytes: Buffer;
  width: number;
  height: number;
}

export interface ScaledImages {
  /** Of the oriented image at full size. */
  width: number;
  height: number;
  /** One per target, in the order asked. */
  outputs: EncodedImage[];
  /** RGBA pixels, long edge ≤ the bound asked (for a ThumbHash). */
  preview: RawPixels;
}

/**
 * Every output is oriented (EXIF orientation applied), sRGB, carries no metadata, and is the same
 * bytes for the same input and arguments. Inputs declaring more than `maxPixels` are refused before
 * decoding; an unreadable or truncated input throws (the caller maps both to its failure codes).
 */
export interface ImageCodec {
  /** The header alone: throws when it cannot be read. */
  header(input: ImageInput): Promise<ImageHeader>;
  /** One image re-encoded at full size, or within `bound`. */
  encode(input: ImageInput, target: EncodeTarget & { bound?: SizeBound }, maxPixels: number): Promise<EncodedImage>;
  /**
   * Several sizes of one image from a single decode at the largest size asked — with shrink-on-load
   * where the format allows (JPEG decodes at 1/2, 1/4, 1/8 scale), so full-size pixels never exist —
   * plus an RGBA preview of at most `previewLongEdge`.
   */
  scaled(input: ImageInput, targets: (EncodeTarget & { longEdge: number })[], previewLongEdge: number, maxPixels: number): Promise<ScaledImages>;
}

/** The HEIF decoder failed on this file (not a fault of the deployment): the image is unreadable. */
export class HeifDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HeifDecodeError";
  }
}

/**
 * A HEIF (HEIC) decoder. Callers first read the file's decode plan (heif-boxes.ts) and refuse files
 * that would decode too many pixels; the decoder is given that plan.
 */
export interface HeifDecoder {
  /** "native heif-convert" or "wasm libheif-js": said at start-up and in the bench. */
  readonly name: string;
  /**
   * The primary image, oriented as HEIF says (irot/imir applied): a JPEG of quality `jpegQuality`
   * (which may still carry the file's EXIF and ICC profile) or raw pixels. HeifDecodeError when the
   * file cannot be decoded within the decoder's time and memory bounds.
   */
  decodePrimary(input: Uint8Array, plan: HeifDecodePlan, jpegQuality: number): Promise<{ jpeg: Buffer } | { pixels: RawPixels }>;
}

/** The image codecs process-media and publish are given. */
export interface ImageCodecs {
  codec: ImageCodec;
  heif: HeifDecoder;
}

/** The size as displayed: EXIF orientations 5–8 turn the image a quarter, swapping width and height. */
export const orientedSize = (header: ImageHeader): { width: number; height: number } =>
  header.orientation >= 5 ? { width: header.height, height: header.width } : { width: header.width, height: header.height };
