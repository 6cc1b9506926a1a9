/**
 * Decoding and encoding of one image into its variants — sharp (libvips) for every format it can
 * read, libheif (wasm, `heic-decode`) for HEVC-coded HEIC, which sharp's prebuilt libvips cannot
 * decode. Pure CPU work on bytes: no storage, no state.
 */
import decodeHeic from "heic-decode";
import sharp, { type Sharp } from "sharp";
import { rgbaToThumbHash } from "thumbhash";
import type { ImageVariant } from "../policies/object-keys.js";
import { MAX_INPUT_PIXELS } from "./limits.js";
import type { MediaFailureCode } from "./media-variants.js";

export const DISPLAY_LONG_EDGE = 1600;
export const THUMB_LONG_EDGE = 320;
/** A video's poster frame: long edge at most this (never upscaled). */
export const POSTER_LONG_EDGE = 1280;
/** ThumbHash encodes images of at most 100×100. */
const PLACEHOLDER_LONG_EDGE = 100;

/** The image cannot be processed, for good: the job records this code and is not retried. */
export class ImageRejectedError extends Error {
  constructor(
    readonly code: MediaFailureCode,
    message: string,
  ) {
    super(message);
    this.name = "ImageRejectedError";
  }
}

export interface RenderedVariant {
  variant: ImageVariant;
  bytes: Buffer;
  contentType: string;
  extension: string;
}

export interface RenderedImage {
  /** Of the oriented image. */
  width: number;
  height: number;
  /** ThumbHash of the image, base64. */
  placeholder: string;
  variants: RenderedVariant[];
}

/** The encoding of the full-size copy: the upload's own format, except HEIC (not shown by most browsers) → JPEG. */
const ORIGINAL_ENCODING: Record<string, { contentType: string; extension: string; encode: (image: Sharp) => Sharp }> = {
  "image/jpeg": { contentType: "image/jpeg", extension: "jpg", encode: (i) => i.jpeg({ quality: 90, mozjpeg: true }) },
  "image/heic": { contentType: "image/jpeg", extension: "jpg", encode: (i) => i.jpeg({ quality: 90, mozjpeg: true }) },
  "image/png": { contentType: "image/png", extension: "png", encode: (i) => i.png() },
  "image/webp": { contentType: "image/webp", extension: "webp", encode: (i) => i.webp({ quality: 90 }) },
};

interface Pixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** The declared size, read from the header before any pixel is decoded. */
async function declaredPixels(input: Uint8Array): Promise<{ width: number; height: number; format: string; compression?: string }> {
  try {
    const meta = await sharp(input, { limitInputPixels: false }).metadata();
    if (!meta.width || !meta.height) throw new Error("no dimensions");
    return { width: meta.width, height: meta.height, format: meta.format ?? "", ...(meta.compression ? { compression: meta.compression } : {}) };
  } catch (error) {
    throw new ImageRejectedError("IMAGE_UNREADABLE", `image header unreadable: ${(error as Error).message}`);
  }
}

/** Oriented (EXIF orientation applied; libheif applies HEIF's own transforms), sRGB pixels. */
async function decode(input: Uint8Array, contentType: string): Promise<Pixels> {
  const declared = await declaredPixels(input);
  if (declared.width * declared.height > MAX_INPUT_PIXELS) {
    throw new ImageRejectedError("IMAGE_TOO_LARGE", `image declares ${declared.width}×${declared.height} pixels (limit ${MAX_INPUT_PIXELS})`);
  }
  try {
    let image: Sharp;
    if (contentType === "image/heic" && declared.compression !== "av1") {
      const heic = await decodeHeic({ buffer: input });
      image = sharp(Buffer.from(heic.data.buffer, heic.data.byteOffset, heic.data.byteLength), {
        raw: { width: heic.width, height: heic.height, channels: 4 },
        limitInputPixels: MAX_INPUT_PIXELS,
      });
    } else {
      // failOn "warning" (the default, stated): a truncated or corrupt file is an error, not a grey half-image.
      image = sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: "warning" }).autoOrient();
    }
    const { data, info } = await image.toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    const channels = info.channels === 4 ? 4 : 3;
    if (info.channels !== channels) throw new Error(`unexpected ${info.channels} channels`);
    return { data, width: info.width, height: info.height, channels };
  } catch (error) {
    if (error instanceof ImageRejectedError) throw error;
    throw new ImageRejectedError("IMAGE_UNREADABLE", `image not decodable: ${(error as Error).message}`);
  }
}

const fromPixels = (p: Pixels): Sharp => sharp(p.data, { raw: { width: p.width, height: p.height, channels: p.channels } });

const bounded = (p: Pixels, longEdge: number): Sharp => fromPixels(p).resize(longEdge, longEdge, { fit: "inside", withoutEnlargement: true });

async function placeholderOf(p: Pixels): Promise<string> {
  const { data, info } = await bounded(p, PLACEHOLDER_LONG_EDGE).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString("base64");
}

/**
 * Invariant: every variant is re-encoded from decoded pixels, so no metadata block of the input
 * (EXIF, XMP, IPTC, maker notes, comments, ICC) survives; pixels are oriented and sRGB; no variant
 * is larger than its bound or than the image; the same input gives the same bytes. Too many pixels
 * or undecodable input throws ImageRejectedError before (or instead of) decoding.
 */
export async function renderVariants(input: Uint8Array, contentType: string): Promise<RenderedImage> {
  const original = ORIGINAL_ENCODING[contentType];
  if (!original) throw new TypeError(`${contentType} is not a processable image type`);
  const pixels = await decode(input, contentType);
  const [originalBytes, display, thumb, placeholder] = await Promise.all([
    original.encode(fromPixels(pixels)).toBuffer(),
    bounded(pixels, DISPLAY_LONG_EDGE).webp({ quality: 80 }).toBuffer(),
    bounded(pixels, THUMB_LONG_EDGE).webp({ quality: 70 }).toBuffer(),
    placeholderOf(pixels),
  ]);
  return {
    width: pixels.width,
    height: pixels.height,
    placeholder,
    variants: [
      { variant: "original", bytes: originalBytes, contentType: original.contentType, extension: original.extension },
      { variant: "display", bytes: display, contentType: "image/webp", extension: "webp" },
      { variant: "thumb", bytes: thumb, contentType: "image/webp", extension: "webp" },
    ],
  };
}

export interface RenderedPoster {
  bytes: Buffer;
  width: number;
  height: number;
  /** ThumbHash of the frame, base64. */
  placeholder: string;
}

/**
 * A video's poster from one decoded frame (a PNG written by ffmpeg): JPEG re-encoded from its
 * pixels, so nothing but pixels survives, at most POSTER_LONG_EDGE on the long edge, plus its
 * ThumbHash. A frame sharp cannot read throws ImageRejectedError (the caller maps it to the video's code).
 */
export async function renderPoster(frame: Uint8Array): Promise<RenderedPoster> {
  const pixels = await decode(frame, "image/png");
  const [bytes, placeholder] = await Promise.all([
    bounded(pixels, POSTER_LONG_EDGE).jpeg({ quality: 82, mozjpeg: true }).toBuffer({ resolveWithObject: true }),
    placeholderOf(pixels),
  ]);
  return { bytes: bytes.data, width: bytes.info.width, height: bytes.info.height, placeholder };
}
