/**
 * ImageCodec on sharp (libvips). Pure CPU work on bytes: no storage, no state. JPEG is written with
 * libjpeg-turbo's settings (sharp's `mozjpeg: false`: as small within a few percent at the same
 * quality, about four times faster to encode), WebP and AVIF with libwebp and libaom as sharp ships them.
 */
import sharp, { type Sharp } from "sharp";
import {
  type EncodedImage,
  type EncodeTarget,
  type ImageCodec,
  type ImageHeader,
  type ImageInput,
  isRawPixels,
  type RawPixels,
  type ScaledImages,
  type SizeBound,
} from "../../media/image-codec.js";

function load(input: ImageInput, maxPixels: number): Sharp {
  if (isRawPixels(input)) {
    if (input.width * input.height > maxPixels) throw new RangeError(`${input.width}×${input.height} pixels exceed ${maxPixels}`);
    return sharp(input.data, { raw: { width: input.width, height: input.height, channels: input.channels } });
  }
  // failOn "warning" (the default, stated): a truncated or corrupt file is an error, not a grey half-image.
  return sharp(input, { limitInputPixels: maxPixels, failOn: "warning" }).autoOrient();
}

function encoded(image: Sharp, target: EncodeTarget): Sharp {
  switch (target.format) {
    case "jpeg":
      return image.jpeg({ quality: target.quality ?? 90, mozjpeg: false });
    case "png":
      return image.png();
    case "webp":
      return image.webp({ quality: target.quality ?? 80, effort: target.effort ?? 4 });
    case "avif":
      return image.avif({ quality: target.quality ?? 50, effort: target.effort ?? 4 });
  }
}

const resized = (image: Sharp, bound: SizeBound): Sharp =>
  "width" in bound
    ? image.resize({ width: bound.width, withoutEnlargement: true })
    : image.resize(bound.longEdge, bound.longEdge, { fit: "inside", withoutEnlargement: true });

async function toImage(image: Sharp): Promise<EncodedImage> {
  const { data, info } = await image.toBuffer({ resolveWithObject: true });
  return { bytes: data, width: info.width, height: info.height };
}

async function rawOf(image: Sharp): Promise<RawPixels> {
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 && info.channels !== 4) throw new Error(`unexpected ${info.channels} channels`);
  return { data, width: info.width, height: info.height, channels: info.channels };
}

export class SharpImageCodec implements ImageCodec {
  async header(input: ImageInput): Promise<ImageHeader> {
    if (isRawPixels(input)) return { format: "raw", width: input.width, height: input.height, orientation: 1, space: "srgb", channels: input.channels };
    const meta = await sharp(input, { limitInputPixels: false }).metadata();
    if (!meta.width || !meta.height) throw new Error("no dimensions");
    return {
      format: meta.format ?? "",
      width: meta.width,
      height: meta.height,
      orientation: meta.orientation ?? 1,
      space: meta.space ?? "",
      channels: meta.channels ?? 0,
      ...(meta.icc ? { iccProfile: meta.icc } : {}),
    };
  }

  async encode(input: ImageInput, target: EncodeTarget & { bound?: SizeBound }, maxPixels: number): Promise<EncodedImage> {
    const image = load(input, maxPixels);
    return toImage(encoded((target.bound ? resized(image, target.bound) : image).toColourspace("srgb"), target));
  }

  async scaled(input: ImageInput, targets: (EncodeTarget & { longEdge: number })[], previewLongEdge: number, maxPixels: number): Promise<ScaledImages> {
    const largest = Math.max(...targets.map((t) => t.longEdge), previewLongEdge);
    const full = isRawPixels(input) ? { width: input.width, height: input.height } : await orientedSize(input);
    // The one decode: at the largest size asked, which lets libvips shrink JPEGs while decoding them.
    const pixels = await rawOf(resized(load(input, maxPixels), { longEdge: largest }).toColourspace("srgb"));
    const fromPixels = () => sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: pixels.channels } });
    const [outputs, preview] = await Promise.all([
      Promise.all(targets.map((t) => toImage(encoded(resized(fromPixels(), { longEdge: t.longEdge }), t)))),
      rawOf(resized(fromPixels(), { longEdge: previewLongEdge }).ensureAlpha()),
    ]);
    return { ...full, outputs, preview };
  }
}

/** The displayed size (EXIF orientation 5–8 swaps width and height), from the header. */
async function orientedSize(input: Uint8Array): Promise<{ width: number; height: number }> {
  const meta = await sharp(input, { limitInputPixels: false }).metadata();
  if (!meta.width || !meta.height) throw new Error("no dimensions");
  return (meta.orientation ?? 1) >= 5 ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}
