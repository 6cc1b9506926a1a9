/**
 * Decoding and encoding of one image into its variants, through the image codec ports
 * (image-codec.ts; sharp and libheif adapters under core/src/adapters/). Pure CPU work on bytes:
 * no storage, no state. Which copy is re-encoded, at what size and quality, and which files are
 * refused before any pixel is decoded is decided here.
 */
import { rgbaToThumbHash } from "thumbhash";
import type { ImageVariant } from "../policies/object-keys.js";
import { type HeifDecodePlan, HeifStructureError, heifDecodePlan } from "./heif-boxes.js";
import { isSrgbProfile } from "./icc-profile.js";
import { HeifDecodeError, type ImageCodec, type ImageCodecs, type ImageHeader, type ImageInput, type OutputFormat, type RawPixels } from "./image-codec.js";
import { JpegStructureError, stripJpegMetadata } from "./jpeg-metadata.js";
import { MAX_DECODED_PIXELS, MAX_INPUT_PIXELS } from "./limits.js";
import type { MediaFailureCode } from "./media-variants.js";

export const DISPLAY_LONG_EDGE = 1600;
export const THUMB_LONG_EDGE = 320;
/** A video's poster frame: long edge at most this (never upscaled). */
export const POSTER_LONG_EDGE = 1280;
/** ThumbHash encodes images of at most 100×100. */
const PLACEHOLDER_LONG_EDGE = 100;
/** The full-size copy when it must be re-encoded as JPEG (HEIC, CMYK, a colour profile other than sRGB). */
const ORIGINAL_JPEG_QUALITY = 90;

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
  /** How the full-size copy was made: its uploaded bytes with the metadata cut out, or re-encoded. */
  original: "lossless" | "re-encoded";
}

/** The full-size copy's format: the upload's own, except HEIC (not shown by most browsers) → JPEG. */
const ORIGINAL_ENCODING: Record<string, { contentType: string; extension: string; format: OutputFormat }> = {
  "image/jpeg": { contentType: "image/jpeg", extension: "jpg", format: "jpeg" },
  "image/heic": { contentType: "image/jpeg", extension: "jpg", format: "jpeg" },
  "image/png": { contentType: "image/png", extension: "png", format: "png" },
  "image/webp": { contentType: "image/webp", extension: "webp", format: "webp" },
};

/**
 * The display and thumb copies: WebP (see docs/ARCHITECTURE.md, "Media processing", for why not
 * AVIF) at effort 1 — about 4 % more bytes than libwebp's default effort 4 for a textured 1600-px
 * photo, encoded 2–4× faster, and the encode is most of a photo's time to ready.
 */
export const VARIANT_TARGETS = [
  { variant: "display", longEdge: DISPLAY_LONG_EDGE, format: "webp", quality: 80, effort: 1 },
  { variant: "thumb", longEdge: THUMB_LONG_EDGE, format: "webp", quality: 70, effort: 1 },
] as const;

const unreadable = (error: unknown, what: string): ImageRejectedError =>
  error instanceof ImageRejectedError ? error : new ImageRejectedError("IMAGE_UNREADABLE", `${what}: ${(error as Error).message}`);

const tooLarge = (width: number, height: number, limit: number) => {
  if (width * height > limit) throw new ImageRejectedError("IMAGE_TOO_LARGE", `image declares ${width}×${height} pixels (limit ${limit})`);
};

/**
 * What a HEIF decoder would decode, checked before it runs: the primary image (as displayed) within
 * MAX_INPUT_PIXELS and every image the decoder decodes — grids counted by their tiles — within
 * MAX_DECODED_PIXELS, or IMAGE_TOO_LARGE; boxes that cannot be read are IMAGE_UNREADABLE.
 */
export function checkedHeifPlan(input: Uint8Array): HeifDecodePlan {
  let plan: HeifDecodePlan;
  try {
    plan = heifDecodePlan(input);
  } catch (error) {
    if (error instanceof HeifStructureError) throw new ImageRejectedError("IMAGE_UNREADABLE", `HEIF structure: ${error.message}`);
    throw error;
  }
  tooLarge(plan.primary.displayWidth, plan.primary.displayHeight, MAX_INPUT_PIXELS);
  if (plan.decodedPixels > MAX_DECODED_PIXELS) {
    throw new ImageRejectedError(
      "IMAGE_TOO_LARGE",
      `decoding the file's ${plan.topLevel.length} image(s) means ${plan.decodedPixels} pixels (limit ${MAX_DECODED_PIXELS}), tiles included`,
    );
  }
  return plan;
}

/** A JPEG browsers show as the uploader saw it without its metadata: sRGB (or grey), no other profile. */
const keepsPixels = (header: ImageHeader): boolean =>
  header.format === "jpeg" && (header.space === "srgb" || header.space === "b-w") && (!header.iccProfile || isSrgbProfile(header.iccProfile));

interface Source {
  input: ImageInput;
  /** The size the decoder must have produced (HEIC: the primary image as displayed), checked against the header. */
  expected?: { width: number; height: number };
  /** The pixels are upright already (the HEIC decoder applied HEIF's rotation): no EXIF orientation applies. */
  upright: boolean;
}

/** HEIC → the primary image, upright, as JPEG bytes with only the ICC profile kept (or raw pixels from the fallback). */
async function decodedHeic(codecs: ImageCodecs, input: Uint8Array): Promise<Source> {
  const plan = checkedHeifPlan(input);
  let decoded: { jpeg: Buffer } | { pixels: RawPixels };
  try {
    decoded = await codecs.heif.decodePrimary(input, plan, ORIGINAL_JPEG_QUALITY);
  } catch (error) {
    if (error instanceof HeifDecodeError) throw new ImageRejectedError("IMAGE_UNREADABLE", error.message);
    throw error;
  }
  const expected = { width: plan.primary.displayWidth, height: plan.primary.displayHeight };
  if ("pixels" in decoded) return { input: decoded.pixels, upright: true, expected };
  try {
    // The decoder copies the file's EXIF (GPS…) into its JPEG; its orientation no longer applies (the pixels are upright).
    return { input: stripJpegMetadata(decoded.jpeg, { keepIccProfile: true }), upright: true, expected };
  } catch (error) {
    throw unreadable(error, "HEIF decoder output");
  }
}

async function placeholderOf(preview: RawPixels): Promise<string> {
  return Buffer.from(rgbaToThumbHash(preview.width, preview.height, preview.data)).toString("base64");
}

/**
 * Invariant: no metadata block of the input (EXIF, XMP, IPTC, maker notes, comments, ICC profiles
 * other than none) survives in any variant — the full-size copy of an sRGB JPEG keeps its coded
 * pixels byte for byte with its metadata segments cut out (and an EXIF of the Orientation tag alone,
 * so browsers still turn it upright); any other full-size copy, and every display and thumb copy, is
 * re-encoded from oriented sRGB pixels. No variant is larger than its bound or than the image; the
 * same input gives the same bytes. Too many pixels (HEIC: counted on everything the decoder would
 * decode) or undecodable input throws ImageRejectedError before (or instead of) decoding.
 */
export async function renderVariants(codecs: ImageCodecs, input: Uint8Array, contentType: string): Promise<RenderedImage> {
  const original = ORIGINAL_ENCODING[contentType];
  if (!original) throw new TypeError(`${contentType} is not a processable image type`);
  const source: Source = contentType === "image/heic" ? await decodedHeic(codecs, input) : { input, upright: false };
  let header: ImageHeader;
  try {
    header = await codecs.codec.header(source.input);
  } catch (error) {
    throw unreadable(error, "image header unreadable");
  }
  tooLarge(header.width, header.height, MAX_INPUT_PIXELS);
  // The decoder decoded some other image than the primary the size check was made on: refuse it.
  if (source.expected && (header.width !== source.expected.width || header.height !== source.expected.height)) {
    throw new ImageRejectedError(
      "IMAGE_UNREADABLE",
      `decoder produced ${header.width}×${header.height}, the primary image is ${source.expected.width}×${source.expected.height}`,
    );
  }

  const lossless = original.format === "jpeg" && keepsPixels(header);
  try {
    const [full, scaled] = await Promise.all([
      lossless
        ? stripJpegMetadata(source.input as Uint8Array, { orientation: source.upright ? 1 : header.orientation })
        : codecs.codec.encode(source.input, { format: original.format, quality: ORIGINAL_JPEG_QUALITY }, MAX_INPUT_PIXELS).then((e) => e.bytes),
      codecs.codec.scaled(source.input, [...VARIANT_TARGETS], PLACEHOLDER_LONG_EDGE, MAX_INPUT_PIXELS),
    ]);
    const [display, thumb] = scaled.outputs;
    return {
      width: scaled.width,
      height: scaled.height,
      placeholder: await placeholderOf(scaled.preview),
      original: lossless ? "lossless" : "re-encoded",
      variants: [
        { variant: "original", bytes: full, contentType: original.contentType, extension: original.extension },
        { variant: "display", bytes: display!.bytes, contentType: "image/webp", extension: "webp" },
        { variant: "thumb", bytes: thumb!.bytes, contentType: "image/webp", extension: "webp" },
      ],
    };
  } catch (error) {
    if (error instanceof JpegStructureError) throw new ImageRejectedError("IMAGE_UNREADABLE", `JPEG structure: ${error.message}`);
    throw unreadable(error, "image not decodable");
  }
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
 * ThumbHash. A frame the codec cannot read throws ImageRejectedError (the caller maps it to the video's code).
 */
export async function renderPoster(codec: ImageCodec, frame: Uint8Array): Promise<RenderedPoster> {
  try {
    const header = await codec.header(frame);
    tooLarge(header.width, header.height, MAX_INPUT_PIXELS);
    const scaled = await codec.scaled(frame, [{ longEdge: POSTER_LONG_EDGE, format: "jpeg", quality: 82 }], PLACEHOLDER_LONG_EDGE, MAX_INPUT_PIXELS);
    const poster = scaled.outputs[0]!;
    return { bytes: poster.bytes, width: poster.width, height: poster.height, placeholder: await placeholderOf(scaled.preview) };
  } catch (error) {
    throw unreadable(error, "frame not decodable");
  }
}
