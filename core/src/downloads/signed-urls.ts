/**
 * Signed downloads: presigned GET URLs for keys the caller may read, per the policy table.
 *
 * Stable URLs without a cache round trip: the signing date is the start of a time bucket of
 * `expiresIn − 300 s`, so every container signs the identical URL for the same (bucket, key,
 * expiresIn) within a bucket — browsers and CDNs can cache the object — and each URL handed out
 * still has at least 300 s (and at most `expiresIn`) to live, as the Redis cache it replaces
 * guaranteed. `npm run bench` compares both; a cache hit over Upstash costs far more than signing.
 * An in-process memo skips even the signing for URLs this container already made.
 */
import * as z from "zod";
import type { Identity } from "../auth/identity.js";
import { ForbiddenError } from "../errors.js";
import { type ParsedKey, parseObjectKey } from "../policies/object-keys.js";
import { isInlineType, OWNER_TYPE_POLICIES } from "../policies/owner-types.js";
import type { Buckets } from "../storage/buckets.js";
import type { UrlSigner } from "../storage/url-signer.js";
import { type Clock, systemClock } from "../time/clock.js";

/** A URL is handed out until it has at least this long to live. */
export const MIN_REMAINING_SECONDS = 300;
/** Compliance records get short URLs, signed fresh each time. */
export const RECORDS_MAX_EXPIRES_SECONDS = 300;
const MEMO_LIMIT = 10_000;

export interface SignedUrlsDeps {
  signer: UrlSigner;
  buckets: Buckets;
  clock?: Clock;
  /** Per-container memo of URLs already signed (see `createUrlMemo`). */
  memo?: UrlMemo;
}

export const signedUrlsRequestSchema = z.object({
  keys: z.array(z.string().min(1).max(1024)).min(1).max(100),
  expiresIn: z.number().int().min(60).max(604_800).default(3600),
});
export type SignedUrlsRequest = z.output<typeof signedUrlsRequestSchema>;

export interface SignedUrl {
  key: string;
  url: string;
  expiresAt: string;
}

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

/** Invariant: a URL is returned only if every key is readable by the caller; otherwise 403 and none. */
export async function signedUrls(deps: SignedUrlsDeps, identity: Identity, request: SignedUrlsRequest): Promise<{ urls: SignedUrl[] }> {
  const denied: { index: number }[] = [];
  const parsedKeys = request.keys.map((key, index) => {
    const parsed = parseObjectKey(key);
    if (!parsed || !mayRead(identity, parsed)) denied.push({ index });
    return parsed!;
  });
  if (denied.length > 0) throw new ForbiddenError("At least one key is not readable by the caller.", denied);

  const now = (deps.clock ?? systemClock).now();
  const urls = await Promise.all(
    parsedKeys.map(async (parsed, i): Promise<SignedUrl> => {
      const key = request.keys[i]!;
      const isRecord = parsed.bucket === "compliance";
      const expiresIn = isRecord ? Math.min(request.expiresIn, RECORDS_MAX_EXPIRES_SECONDS) : request.expiresIn;
      const signedAt = signingDateFor(now, expiresIn, stableFor(expiresIn, isRecord));
      const bucket = deps.buckets[parsed.bucket];
      const expiresAt = new Date(signedAt + expiresIn * 1000).toISOString();
      const memoKey = `${bucket}\u0000${key}\u0000${expiresIn}\u0000${signedAt}`;
      const memoised = deps.memo?.get(memoKey);
      if (memoised) return { key, url: memoised, expiresAt };

      const url = await deps.signer.presignGet({
        bucket,
        key,
        expiresInSeconds: expiresIn,
        responseContentType: parsed.contentType,
        ...(isInlineType(parsed.contentType) ? {} : { responseContentDisposition: "attachment" }),
        signingDate: new Date(signedAt),
      });
      if (deps.memo && stableFor(expiresIn, isRecord)) {
        if (deps.memo.size >= MEMO_LIMIT) deps.memo.clear();
        deps.memo.set(memoKey, url);
      }
      return { key, url, expiresAt };
    }),
  );
  return { urls };
}
