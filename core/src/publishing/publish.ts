/**
 * Publishing — an organisation's logo or minisite image made public: its processed image is
 * written as responsive, immutable renditions to the public bucket (the only bucket read without a
 * signature), and unpublishing (or releasing the upload) deletes them again.
 */
import { createHash } from "node:crypto";
import * as z from "zod";
import { NotFoundError, StillProcessingError, UnsupportedMediaTypeError } from "../errors.js";
import type { ImageCodec } from "../media/image-codec.js";
import { MAX_SOURCE_BYTES } from "../media/limits.js";
import { isReadyVideo, type MediaVariants } from "../media/media-variants.js";
import { publicRenditionKey } from "../policies/object-keys.js";
import type { ObjectStore } from "../storage/object-store.js";
import type { PublishedItem, PublishedMedia, Rendition } from "./published-media.js";
import { DEFAULT_RENDITION_WIDTH, IMMUTABLE_CACHE_CONTROL, renderRenditions } from "./renditions.js";
import { type PublicBucket, type PublishRequest, publicUrlOf, publishableKey } from "./unpublish.js";

export const publishResponseSchema = z.object({
  /** The default rendition (WebP, 1280 wide or the widest below). */
  url: z.url(),
  /** Every WebP rendition as `<url> <width>w`, narrowest first. */
  srcset: z.string(),
  /** Of `url`: for the `<img>`'s intrinsic size (its aspect ratio). */
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** ThumbHash, base64: a blurred preview to paint while the image loads. */
  placeholder: z.string(),
  /** Further `<source>`s for a `<picture>` (AVIF where smaller); empty when there are none. */
  sources: z.array(z.object({ type: z.literal("image/avif"), srcset: z.string() })),
});
export type PublishResponse = z.output<typeof publishResponseSchema>;

export {
  type PublicBucket,
  type PublishRequest,
  publishRequestSchema,
  type UnpublishDeps,
  type UnpublishRequest,
  unpublish,
  unpublishKeys,
  unpublishRequestSchema,
  unpublishResponseSchema,
} from "./unpublish.js";

export interface PublishDeps {
  mediaBucket: string;
  media: Pick<ObjectStore, "stream">;
  variants: Pick<MediaVariants, "mediaStates">;
  published: PublishedMedia;
  public: PublicBucket;
  /** Encodes the renditions (the sharp adapter, deployed). */
  images: ImageCodec;
}

const urlOf = publicUrlOf;

const srcsetOf = (baseUrl: string, renditions: Rendition[]): string => renditions.map((r) => `${urlOf(baseUrl, r.key)} ${r.width}w`).join(", ");

/** The answer for a published item: the same item always gives the same URLs. */
export function publishedAnswer(item: PublishedItem, baseUrl: string): PublishResponse {
  const webp = item.renditions.filter((r) => r.contentType === "image/webp");
  const avif = item.renditions.filter((r) => r.contentType === "image/avif");
  const main = webp.find((r) => r.key === item.defaultKey) ?? webp.at(-1)!;
  return {
    url: urlOf(baseUrl, main.key),
    srcset: srcsetOf(baseUrl, webp),
    width: main.width,
    height: main.height,
    placeholder: item.placeholder,
    sources: avif.length > 0 ? [{ type: "image/avif", srcset: srcsetOf(baseUrl, avif) }] : [],
  };
}

async function readAll(objects: PublishDeps["media"], bucket: string, key: string): Promise<Buffer | null> {
  const stream = await objects.stream(bucket, key, MAX_SOURCE_BYTES);
  if (!stream) return null;
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Invariants: only a processed image linked to `orgId`, of a publishable owner type, is
 * published; renditions are rendered from the processed copy (metadata stripped, oriented), under
 * keys that name their bytes, written only where absent (`If-None-Match`) with the immutable cache
 * header; the record (whose bytes join `used`) is written once, after every rendition stored.
 * Publishing a published key reads the record and writes nothing. An upload released meanwhile
 * leaves no rendition behind.
 */
export async function publish(deps: PublishDeps, request: PublishRequest): Promise<PublishResponse> {
  const ownerType = publishableKey(request);
  const existing = await deps.published.publishedItem(request.orgId, request.key);
  if (existing) return publishedAnswer(existing, deps.public.baseUrl);

  const object = { bucket: deps.mediaBucket, key: request.key };
  const [state] = await deps.variants.mediaStates([object]);
  if (!state) throw new NotFoundError("No linked upload has this key.", [{ key: request.key }]);
  if (state.status === "processing")
    throw new StillProcessingError("The image is still being processed; publish it once its status is ready.", [{ key: request.key }]);
  if (state.status === "failed")
    throw new UnsupportedMediaTypeError("The image could not be processed, so it cannot be published.", [{ key: request.key, reason: state.code }]);

  // Publishable owner types take images only (the owner-type table), so a video's record cannot be here.
  if (isReadyVideo(state)) throw new UnsupportedMediaTypeError("Only images can be published.", [{ key: request.key, reason: "NOT_AN_IMAGE" }]);
  const source = await readAll(deps.media, deps.mediaBucket, state.variants.original.key);
  if (!source) throw new NotFoundError("No linked upload has this key.", [{ key: request.key }]);
  const digest = createHash("sha256").update(request.key).update("\u0000").update(source).digest("hex").slice(0, 32);
  const rendered = await renderRenditions(deps.images, source);

  const renditions: Rendition[] = await Promise.all(
    rendered.map(async (r) => {
      const key = publicRenditionKey({ orgId: request.orgId, digest, width: r.width, extension: r.extension });
      // A key names its bytes: one already there (an earlier attempt) is the same rendition.
      if (!(await deps.public.objects.head(deps.public.name, key))) {
        await deps.public.objects.put({
          bucket: deps.public.name,
          key,
          body: r.bytes,
          contentType: r.contentType,
          checksumSha256: createHash("sha256").update(r.bytes).digest("base64"),
          cacheControl: IMMUTABLE_CACHE_CONTROL,
          ifNoneMatch: true,
        });
      }
      return { key, width: r.width, height: r.height, contentType: r.contentType, size: r.bytes.length };
    }),
  );
  const webp = renditions.filter((r) => r.contentType === "image/webp");
  const defaultRendition = webp.filter((r) => r.width <= DEFAULT_RENDITION_WIDTH).at(-1) ?? webp[0]!;
  const item: PublishedItem = {
    key: request.key,
    ownerType,
    width: state.width,
    height: state.height,
    placeholder: state.placeholder,
    renditions,
    defaultKey: defaultRendition.key,
  };

  const recorded = await deps.published.recordPublished({ ...object, orgId: request.orgId }, item);
  if (!recorded.linked) {
    await deps.public.objects.deleteObjects(
      deps.public.name,
      renditions.map((r) => r.key),
    );
    throw new NotFoundError("No linked upload has this key.", [{ key: request.key }]);
  }
  return publishedAnswer(recorded.item ?? item, deps.public.baseUrl);
}
