/**
 * Signed downloads: presigned GET URLs for keys the caller may read, per the policy table.
 *
 * Stable URLs without a cache round trip: the signing date is the start of a time bucket of
 * `expiresIn − 300 s`, so every container signs the identical URL for the same (bucket, key,
 * expiresIn) within a bucket — browsers and CDNs can cache the object — and each URL handed out
 * still has at least 300 s (and at most `expiresIn`) to live, as the Redis cache it replaces
 * guaranteed. `npm run bench` compares both; a cache hit over Upstash costs far more than signing.
 * An in-process memo skips even the signing for URLs this container already made.
 *
 * Only linked objects are ever signed, of every type: a key that is staged, cancelled, refused,
 * swept or was never uploaded answers NOT_LINKED — so bytes PUT through a URL that outlived its
 * record can never be handed out. Whether each key is linked (and, for images and videos, their
 * processing state) is read from the store in one round trip per request, however many keys.
 *
 * Every URL pins the response headers a reader gets (signed query parameters, which S3/R2 apply
 * over whatever the object stored): the type from the key's extension, `inline` for images and
 * video or `attachment` otherwise — always under the server-made file name `<uploadId>.<ext>`,
 * never a client's — `private, max-age=<n>` with n the least time the URL has left when it is
 * handed out, so no shared cache keeps it and no browser keeps it past the URL's life, and
 * `Content-Encoding: identity` and `Content-Language: und`, so a stored encoding or language is
 * never served. (S3/R2 have no such parameter for `x-amz-meta-*`: consume links no object that
 * carries metadata the server did not write, and only linked objects are signed.)
 *
 * Only linked objects are ever signed (any type; otherwise `NOT_LINKED`). Linked images and videos
 * are served only from their processed copies (docs/API.md, "Image variants", "Video variants"):
 * the phone's bytes are never signed. Links and processing states are read from the store in one
 * round trip per request.
 */
import * as z from "zod";
import type { Identity } from "../auth/identity.js";
import { MAX_PRESIGN_EXPIRES_SECONDS } from "../contract/catalog.js";
import { ForbiddenError } from "../errors.js";
import {
  isProcessableImage,
  isProcessableVideo,
  isReadyVideo,
  isSupersededOutcome,
  type MediaFailureCode,
  type MediaState,
  type MediaVariants,
  type StoredVariant,
} from "../media/media-variants.js";
import { MEDIA_VARIANTS, type MediaVariant, type ParsedKey, parseObjectKey } from "../policies/object-keys.js";
import { EXTENSION_BY_TYPE, isInlineType, OWNER_TYPE_POLICIES } from "../policies/owner-types.js";
import type { Buckets } from "../storage/buckets.js";
import type { UrlSigner } from "../storage/url-signer.js";
import { type Clock, systemClock } from "../time/clock.js";

/** `Content-Encoding` of every signed download: the bytes as stored, whatever encoding an uploader set. */
export const SERVED_CONTENT_ENCODING = "identity";
/** `Content-Language` of every signed download (BCP 47 "undetermined"), whatever language an uploader set. */
export const SERVED_CONTENT_LANGUAGE = "und";
/** A URL is handed out until it has at least this long to live. */
export const MIN_REMAINING_SECONDS = 300;
/** Compliance records get short URLs, signed fresh each time. */
export const RECORDS_MAX_EXPIRES_SECONDS = 300;
const MEMO_LIMIT = 10_000;

export interface SignedUrlsDeps {
  signer: UrlSigner;
  /** Whether each key is linked, and the processing state of linked images and videos (one batched read per request). */
  variants: Pick<MediaVariants, "mediaStates">;
  /** The upload buckets, and the retained records' own bucket (`records/…` keys are signed there). */
  buckets: Buckets & { records: string };
  clock?: Clock;
  /** Per-container memo of URLs already signed (see `createUrlMemo`). */
  memo?: UrlMemo;
}

export const signedUrlsRequestSchema = z.object({
  keys: z.array(z.string().min(1).max(1024)).min(1).max(100),
  expiresIn: z.number().int().min(60).max(MAX_PRESIGN_EXPIRES_SECONDS).default(3600),
  /**
   * Which copy: of an image, full-size, ≤ 1600 px or ≤ 320 px (`poster` and `playback` are its
   * ≤ 1600 px copy); of a video, `original` its streams without metadata, `playback` the H.264/AAC
   * MP4 (≤ 1280 px), and `poster`, `display` or `thumb` its frame (≤ 1280 px JPEG).
   * Other uploads have only their original.
   */
  variant: z.enum(MEDIA_VARIANTS).default("original"),
});
/** `variant` defaults to `original` (as the schema parses it). */
export type SignedUrlsRequest = Omit<z.output<typeof signedUrlsRequestSchema>, "variant"> & { variant?: MediaVariant };

/** Why a key has no URL: it is not linked (any type), or an image's or video's processing failed for good. */
const SIGNED_URL_FAILURE_CODES = ["IMAGE_TOO_LARGE", "IMAGE_UNREADABLE", "VIDEO_TOO_LARGE", "VIDEO_UNREADABLE", "NOT_LINKED"] as const satisfies readonly (
  | MediaFailureCode
  | "NOT_LINKED"
)[];

/**
 * `url` and `expiresAt` only when ready; `width`, `height`, `placeholder` once an image or a video
 * is processed, and `durationMs` for a video whose container states it; `code` when failed.
 */
export const signedUrlSchema = z.object({
  key: z.string(),
  status: z.enum(["ready", "processing", "failed"]),
  url: z.url().optional(),
  expiresAt: z.iso.datetime().optional(),
  width: z.number().int().min(1).optional(),
  height: z.number().int().min(1).optional(),
  /** ThumbHash (of an image, or of a video's poster), base64. */
  placeholder: z.string().optional(),
  /** A video's duration in milliseconds. */
  durationMs: z.number().int().min(0).optional(),
  code: z.enum(SIGNED_URL_FAILURE_CODES).optional(),
});
export type SignedUrl = z.output<typeof signedUrlSchema>;

/** The reply of `POST /uploads/signed-urls`, one entry per requested key in order; documented, never parsed at run time. */
export const signedUrlsResponseSchema = z.object({ urls: z.array(signedUrlSchema) });
export type SignedUrlsResponse = z.output<typeof signedUrlsResponseSchema>;

export type UrlMemo = Map<string, string>;
export const createUrlMemo = (): UrlMemo => new Map();

/** Whether `identity` may read the object behind `parsed` (docs/API.md, the owner-type table's "read by" column). */
export function mayRead(identity: Identity, parsed: ParsedKey): boolean {
  if (!identity.role || identity.orgId !== parsed.orgId) return false;
  if (parsed.bucket === "compliance") return parsed.stage === "records" && identity.role === "admin";
  switch (OWNER_TYPE_POLICIES[parsed.ownerType].read) {
    case "uploader-or-staff":
      return parsed.userId === identity.userId || identity.role === "coach" || identity.role === "admin";
    case "org-member":
      return true;
    case "org-admin":
      return identity.role === "admin";
  }
}

/**
 * The signing date for a URL of `expiresIn` seconds requested at `now`: the start of its time
 * bucket, or `now` itself when the URL is too short-lived to share (or must not be shared).
 */
export function signingDateFor(now: number, expiresIn: number, stable: boolean): number {
  const bucketMs = (expiresIn - MIN_REMAINING_SECONDS) * 1000;
  // SigV4 dates have whole seconds, so expiresAt is exactly when storage stops accepting the URL.
  if (!stable || bucketMs <= 0) return now - (now % 1000);
  return now - (now % bucketMs);
}

/** Records are signed fresh for each request; other URLs are shared within their time bucket. */
const stableFor = (expiresIn: number, isRecord: boolean): boolean => !isRecord && expiresIn > MIN_REMAINING_SECONDS;

/**
 * `Content-Disposition` of a download: the file name is made here from the upload id and the
 * extension table for the type served (a variant's, for a processed image) (SAFE_SEGMENT characters and a dot), so it needs no quoting
 * rules and no `filename*`.
 */
export function contentDispositionFor(uploadId: string, contentType: string): string {
  const fileName = `${uploadId}.${EXTENSION_BY_TYPE[contentType]}`;
  return `${isInlineType(contentType) ? "inline" : "attachment"}; filename="${fileName}"`;
}

/**
 * `Cache-Control` of a URL: private, for no longer than the least time the URL has left when handed
 * out — MIN_REMAINING_SECONDS for a shared URL, and for a fresh one its life less the under-a-second
 * its signing date was rounded down by.
 */
export function cacheControlFor(expiresIn: number, stable: boolean): string {
  return `private, max-age=${stable ? MIN_REMAINING_SECONDS : expiresIn - 1}`;
}

/** How a key is served: a media-bucket image or video from its variants, anything else as stored. */
function servedAs(parsed: ParsedKey): "image" | "video" | "stored" {
  if (parsed.bucket !== "media") return "stored";
  if (isProcessableImage(parsed.contentType)) return "image";
  return isProcessableVideo(parsed.contentType) ? "video" : "stored";
}

/** The facts a processed image or video answers with, whatever variant was asked for. */
function factsOf(state: MediaState | null): Pick<SignedUrl, "width" | "height" | "placeholder" | "durationMs"> {
  if (state?.status !== "ready") return {};
  const facts = { width: state.width, height: state.height, placeholder: state.placeholder };
  return isReadyVideo(state) && state.durationMs !== null ? { ...facts, durationMs: state.durationMs } : facts;
}

/** The stored copy that answers `variant` of a processed upload (an image's `poster` and `playback` are its display copy, a video's `display` and `thumb` its poster). */
function storedVariant(state: MediaState & { status: "ready" }, variant: MediaVariant): StoredVariant | undefined {
  if (isReadyVideo(state)) return state.variants[variant === "display" || variant === "thumb" ? "poster" : variant];
  return state.variants[variant === "poster" || variant === "playback" ? "display" : variant];
}

/**
 * Invariants: a URL is returned only if every key is readable by the caller (otherwise 403 and
 * none), and only for a key linked to the caller's org (otherwise NOT_LINKED); for a media image or
 * video, only a processed variant is ever signed — never the uploaded bytes — and only once
 * processing has recorded it (`processing` until then). One store round trip.
 */
export async function signedUrls(deps: SignedUrlsDeps, identity: Identity, request: SignedUrlsRequest): Promise<SignedUrlsResponse> {
  const denied: { index: number }[] = [];
  const parsedKeys = request.keys.map((key, index) => {
    const parsed = parseObjectKey(key);
    if (!parsed || !mayRead(identity, parsed)) denied.push({ index });
    return parsed!;
  });
  if (denied.length > 0) throw new ForbiddenError("At least one key is not readable by the caller.", denied);

  // Null = not linked; a linked object of a type that is never processed reads `processing` and is not looked at further.
  const states = await deps.variants.mediaStates(request.keys.map((key, i) => ({ bucket: deps.buckets[bucketOf(parsedKeys[i]!)], key })));

  const variant = request.variant ?? "original";
  const now = (deps.clock ?? systemClock).now();
  const urls = await Promise.all(
    parsedKeys.map(async (parsed, i): Promise<SignedUrl> => {
      const key = request.keys[i]!;
      const served = servedAs(parsed);
      const state = states[i] ?? null;
      if (!state) return { key, status: "failed", code: "NOT_LINKED" };
      // The stored object itself: every upload but a media image or video.
      if (served === "stored")
        return {
          key,
          status: "ready",
          ...(await sign(deps, request, now, bucketOf(parsed), key, parsed.uploadId, parsed.contentType, parsed.bucket === "compliance")),
        };
      if (state.status !== "ready") return { key, ...state };
      // Recorded by a release before videos had these copies: the backfill processes it again (docs/deploy.md).
      if (isSupersededOutcome(state)) return { key, status: "processing" };
      const stored = storedVariant(state, variant);
      // A record of the other kind (never written for this key's type): nothing of it to serve.
      if (!stored) return { key, status: "failed", code: served === "video" ? "VIDEO_UNREADABLE" : "IMAGE_UNREADABLE" };
      const signed = await sign(deps, request, now, "media", stored.key, parsed.uploadId, stored.contentType, false);
      return { key, status: "ready", ...signed, ...factsOf(state) };
    }),
  );
  return { urls };
}

/** Retained records live in their own bucket; every other key in the bucket of its kind. */
function bucketOf(parsed: ParsedKey): "media" | "compliance" | "records" {
  return parsed.bucket === "compliance" && parsed.stage === "records" ? "records" : parsed.bucket;
}

async function sign(
  deps: SignedUrlsDeps,
  request: SignedUrlsRequest,
  now: number,
  bucketName: "media" | "compliance" | "records",
  key: string,
  uploadId: string,
  contentType: string,
  isRecord: boolean,
): Promise<{ url: string; expiresAt: string }> {
  const expiresIn = isRecord ? Math.min(request.expiresIn, RECORDS_MAX_EXPIRES_SECONDS) : request.expiresIn;
  const stable = stableFor(expiresIn, isRecord);
  const signedAt = signingDateFor(now, expiresIn, stable);
  const bucket = deps.buckets[bucketName];
  const expiresAt = new Date(signedAt + expiresIn * 1000).toISOString();
  const memoKey = `${bucket}\u0000${key}\u0000${expiresIn}\u0000${signedAt}`;
  const memoised = deps.memo?.get(memoKey);
  if (memoised) return { url: memoised, expiresAt };

  const url = await deps.signer.presignGet({
    bucket,
    key,
    expiresInSeconds: expiresIn,
    responseContentType: contentType,
    responseContentDisposition: contentDispositionFor(uploadId, contentType),
    responseCacheControl: cacheControlFor(expiresIn, stable),
    responseContentEncoding: SERVED_CONTENT_ENCODING,
    responseContentLanguage: SERVED_CONTENT_LANGUAGE,
    signingDate: new Date(signedAt),
  });
  if (deps.memo && stable) {
    if (deps.memo.size >= MEMO_LIMIT) deps.memo.clear();
    deps.memo.set(memoKey, url);
  }
  return { url, expiresAt };
}
