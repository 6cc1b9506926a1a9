/**
 * The responsive renditions of a published image: WebP at each standard width the image reaches,
 * plus AVIF where it is smaller. Pure CPU work on bytes (through the image codec port): no storage, no state.
 */
import { type ImageCodec, orientedSize } from "../media/image-codec.js";
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
 * Invariant: every rendition is re-encoded from decoded, oriented pixels (the codec writes no
 * metadata), none is wider than the source as displayed, every width of `renditionWidths` has a
 * WebP, and an AVIF is kept only when it is smaller than the WebP of the same width. The same input
 * gives the same bytes.
 */
export async function renderRenditions(codec: ImageCodec, source: Uint8Array): Promise<RenderedRendition[]> {
  const { width: sourceWidth } = orientedSize(await codec.header(source));
  const perWidth = await Promise.all(
    renditionWidths(sourceWidth).map(async (width) => {
      const [webp, avif] = await Promise.all([
        codec.encode(source, { format: "webp", quality: 78, bound: { width } }, MAX_INPUT_PIXELS),
        // effort 2: encodes a 1920-wide photo in well under a second, still far smaller than WebP for photos.
        codec.encode(source, { format: "avif", quality: 50, effort: 2, bound: { width } }, MAX_INPUT_PIXELS),
      ]);
      const renditions: RenderedRendition[] = [{ width: webp.width, height: webp.height, contentType: "image/webp", extension: "webp", bytes: webp.bytes }];
      if (avif.bytes.length < webp.bytes.length) {
        renditions.push({ width: avif.width, height: avif.height, contentType: "image/avif", extension: "avif", bytes: avif.bytes });
      }
      return renditions;
    }),
  );
  return perWidth.flat();
}
