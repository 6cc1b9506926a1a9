/**
 * Signed downloads: presigned GET URLs for keys the caller may read, per the policy table.
 * Repeated requests for the same (bucket, key, expiresIn) within the cache window get the
 * identical URL, so browsers and CDNs can cache the object.
 */
import type { Identity } from "../auth/identity.js";
import { ForbiddenError } from "../errors.js";
import { sha256Hex } from "../hashing.js";
import { parseObjectKey, type ParsedKey } from "../policies/object-keys.js";
import { isInlineType, OWNER_TYPE_POLICIES } from "../policies/owner-types.js";
import type { Buckets } from "../staging/buckets.js";
import type { CachedUrl, StagingStore } from "../staging/staging-store.js";
import type { UrlSigner } from "../storage/url-signer.js";
import { systemClock, type Clock } from "../time/clock.js";

/** A cached URL is handed out until it has at least this long to live. */
export const CACHE_MARGIN_SECONDS = 300;
/** Compliance records get short, uncached URLs. */
export const RECORDS_MAX_EXPIRES_SECONDS = 300;

export interface SignedUrlsDeps {
  store: Pick<StagingStore, "getCachedUrls" | "putCachedUrls">;
  signer: UrlSigner;
  buckets: Buckets;
  clock?: Clock;
  /** Told when the cache fails; the call then degrades to signing. */
  onCacheError?: (error: unknown) => void;
}

export interface SignedUrlsRequest {
  keys: string[];
  expiresIn: number;
}

export interface SignedUrl {
  key: string;
  url: string;
  expiresAt: string;
}

/** Whether `identity` may read the object behind `parsed` (shared/API.md, last column of the policy table). */
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

interface Plan {
  key: string;
  bucket: string;
  expiresIn: number;
  contentType: string;
  cacheKey: string | null;
}

/** Invariant: a URL is returned only if every key is readable by the caller; otherwise 403 and none. */
export async function signedUrls(deps: SignedUrlsDeps, identity: Identity, request: SignedUrlsRequest): Promise<{ urls: SignedUrl[] }> {
  const plans: Plan[] = [];
  const denied: { index: number }[] = [];
  request.keys.forEach((key, index) => {
    const parsed = parseObjectKey(key);
    if (!parsed || !mayRead(identity, parsed)) return void denied.push({ index });
    const isRecord = parsed.bucket === "compliance";
    const expiresIn = isRecord ? Math.min(request.expiresIn, RECORDS_MAX_EXPIRES_SECONDS) : request.expiresIn;
    const bucket = deps.buckets[parsed.bucket];
    const cacheable = !isRecord && expiresIn - CACHE_MARGIN_SECONDS > 0;
    plans.push({ key, bucket, expiresIn, contentType: parsed.contentType, cacheKey: cacheable ? sha256Hex(bucket, key, String(expiresIn)) : null });
  });
  if (denied.length > 0) throw new ForbiddenError("At least one key is not readable by the caller.", denied);

  const cacheKeys = plans.flatMap((p) => (p.cacheKey ? [p.cacheKey] : []));
  const cached = new Map<string, CachedUrl>();
  if (cacheKeys.length > 0) {
    try {
      const values = await deps.store.getCachedUrls(cacheKeys);
      values.forEach((value, i) => value && cached.set(cacheKeys[i]!, value));
    } catch (error) {
      deps.onCacheError?.(error);
    }
  }

  const now = (deps.clock ?? systemClock).now();
  const signingDate = new Date(now);
  const fresh: { cacheKey: string; value: CachedUrl; ttlSeconds: number }[] = [];
  const urls = await Promise.all(
    plans.map(async (plan): Promise<SignedUrl> => {
      const hit = plan.cacheKey ? cached.get(plan.cacheKey) : undefined;
      if (hit) return { key: plan.key, url: hit.url, expiresAt: new Date(hit.expiresAt).toISOString() };
      const url = await deps.signer.presignGet({
        bucket: plan.bucket,
        key: plan.key,
        expiresInSeconds: plan.expiresIn,
        responseContentType: plan.contentType,
        ...(isInlineType(plan.contentType) ? {} : { responseContentDisposition: "attachment" }),
        signingDate,
      });
      const expiresAt = now + plan.expiresIn * 1000;
      if (plan.cacheKey) fresh.push({ cacheKey: plan.cacheKey, value: { url, expiresAt }, ttlSeconds: plan.expiresIn - CACHE_MARGIN_SECONDS });
      return { key: plan.key, url, expiresAt: new Date(expiresAt).toISOString() };
    }),
  );

  if (fresh.length > 0) {
    try {
      await deps.store.putCachedUrls(fresh);
    } catch (error) {
      deps.onCacheError?.(error);
    }
  }
  return { urls };
}
