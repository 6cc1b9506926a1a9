/**
 * The responsive renditions of a published image: WebP at each standard width the image reaches,
 * plus AVIF where it is smaller. Pure CPU work on bytes (sharp): no storage, no state.
 */
import sharp from "sharp";
import { MAX_INPUT_PIXELS } from "../media/limits.js";

/** The widths a published image is offered in (a `srcset` ladder for phones up to full-HD screens). */
export const RENDITION_WIDTHS = [320, 640, 960, 1280, 1920] as const;
/** The rendition answered as `url` (for clients that ignore `srcset`): this wide, or the widest below it. */
export const DEFAULT_RENDITION_WIDTH = 1280;
/** Every rendition's key names its bytes for good, so caches may keep it for a year without asking. */
export const IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable";

export interface RenderedRendition {
  width: number;
  height: number;
  contentType: "image/webp" | "image/avif";
  extension: "webp" | "avif";
  bytes: Buffer;
}

/** The ladder's widths that do not exceed `sourceWidth`; an image narrower than the smallest is offered at its own width. */
export function renditionWidths(sourceWidth: number): number[] {
  const widths = RENDITION_WIDTHS.filter((w) => w <= sourceWidth);
  return widths.length > 0 ? widths : [sourceWidth];
}

/**
 * Invariant: every rendition is re-encoded from decoded pixels (sharp writes no metadata unless
 * asked), none is wider than the source, every width of `renditionWidths` has a WebP, and an AVIF
 * is kept only when it is smaller than the WebP of the same width. The same input gives the same bytes.
 */
export async function renderRenditions(source: Uint8Array): Promise<RenderedRendition[]> {
  const meta = await sharp(source, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
  if (!meta.width || !meta.height) throw new TypeError("the processed image has no dimensions");
  const perWidth = await Promise.all(
    renditionWidths(meta.width).map(async (width) => {
      const resized = () => sharp(source, { limitInputPixels: MAX_INPUT_PIXELS }).resize({ width, withoutEnlargement: true });
      const [webp, avif] = await Promise.all([
        resized().webp({ quality: 78 }).toBuffer({ resolveWithObject: true }),
        // effort 2: encodes a 1920-wide photo in well under a second, still far smaller than WebP for photos.
        resized().avif({ quality: 50, effort: 2 }).toBuffer({ resolveWithObject: true }),
      ]);
      const renditions: RenderedRendition[] = [
        { width: webp.info.width, height: webp.info.height, contentType: "image/webp", extension: "webp", bytes: webp.data },
      ];
      if (avif.data.length < webp.data.length) {
        renditions.push({ width: avif.info.width, height: avif.info.height, contentType: "image/avif", extension: "avif", bytes: avif.data });
      }
      return renditions;
    }),
  );
  return perWidth.flat();
}
