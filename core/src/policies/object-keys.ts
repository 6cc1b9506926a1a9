/**
 * Object keys are made here and only here, from server-side values (docs/API.md, "Object keys"):
 *   media:       staging/{orgId}/{ownerType}/{userId}/{uploadId}.{ext}  →  {orgId}/{ownerType}/{userId}/{uploadId}.{ext}
 *   compliance:  incoming/{orgId}/{uploadId}.{ext}  →  records/{orgId}/{uploadId}.{ext}
 * Every segment is checked against SAFE_SEGMENT, so no client string can shape a key.
 */
import type { MediaVariant } from "../contract/catalog.js";
import { EXTENSION_BY_TYPE, isOwnerType, type OwnerType, TYPE_BY_EXTENSION } from "./owner-types.js";

/**
 * The compliance bucket's two stages. `stacks/storage.ts` imports these for its lifecycle rule and
 * its 7-year retention lock, so the lock always covers exactly where consume promotes records.
 */
export const INCOMING_PREFIX = "incoming/";
export const RECORDS_PREFIX = "records/";

/**
 * Where media uploads are staged in the media bucket until consume copies them to their linked key
 * (the key without this prefix). `stacks/storage.ts` imports it for the lifecycle rule that expires
 * leftovers, so the rule always covers exactly where presign stages.
 */
export const STAGING_PREFIX = "staging/";

/**
 * Processed copies of linked images and video posters (docs/ARCHITECTURE.md, "Media processing"), in the media bucket:
 *   variants/{orgId}/{ownerType}/{userId}/{uploadId}/{original|display|thumb|poster}.{ext}
 * They are written by process-media only; readers never name them (signed-urls maps a linked key
 * and a variant onto them), and parseObjectKey does not accept them.
 */
export const VARIANTS_PREFIX = "variants/";

export { IMAGE_VARIANTS, type ImageVariant, MEDIA_VARIANTS, type MediaVariant } from "../contract/catalog.js";

/** Where `variant` of the linked media object `originalKey` is stored (the extension names the encoding). */
export function variantKey(originalKey: string, variant: MediaVariant, extension: string): string {
  const parsed = parseObjectKey(originalKey);
  if (parsed?.bucket !== "media") throw new TypeError("variants exist for linked media keys only");
  if (!/^[a-z0-9]{1,8}$/.test(extension)) throw new TypeError("not a variant extension");
  return `${VARIANTS_PREFIX}${parsed.orgId}/${parsed.ownerType}/${parsed.userId}/${parsed.uploadId}/${variant}.${extension}`;
}

/**
 * The upload a processed copy belongs to, from its key (`variantKey`'s shape; any copy name, so a
 * variant added later is recognised too); null for anything else.
 */
export function parseVariantKey(key: string): { orgId: string; ownerType: OwnerType; userId: string; uploadId: string; name: string } | null {
  if (!key.startsWith(VARIANTS_PREFIX)) return null;
  const parts = key.slice(VARIANTS_PREFIX.length).split("/");
  if (parts.length !== 5) return null;
  const [orgId, ownerType, userId, uploadId, name] = parts as [string, string, string, string, string];
  if (![orgId, userId, uploadId].every(isSafeSegment) || !isOwnerType(ownerType) || !/^[a-z0-9_-]{1,64}\.[a-z0-9]{1,8}$/.test(name)) return null;
  return { orgId, ownerType, userId, uploadId, name };
}

/**
 * Published renditions (the `publish` operation), in the PUBLIC bucket — the only objects anyone
 * may read without a signature:
 *   o/{orgId}/{digest}/{width}.{webp|avif}
 * `digest` is the first 32 hex digits of SHA-256 over the upload's key and its processed bytes, so
 * a key's bytes never change (immutable, cacheable for a year) and two uploads never share one.
 */
export const PUBLIC_PREFIX = "o/";

export function publicRenditionKey(p: { orgId: string; digest: string; width: number; extension: "webp" | "avif" }): string {
  assertSafe("orgId", p.orgId);
  if (!/^[0-9a-f]{32}$/.test(p.digest)) throw new TypeError("not a rendition digest");
  if (!Number.isInteger(p.width) || p.width < 1) throw new TypeError("not a rendition width");
  return `${PUBLIC_PREFIX}${p.orgId}/${p.digest}/${p.width}.${p.extension}`;
}

/** Identifiers that may appear in a key: Clerk ids (`org_…`, `user_…`) and our upload ids. */
export const SAFE_SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;

export function isSafeSegment(value: string): boolean {
  return SAFE_SEGMENT.test(value);
}

function assertSafe(name: string, value: string): void {
  if (!isSafeSegment(value)) throw new TypeError(`${name} is not a safe key segment`);
}

function extensionOf(contentType: string): string {
  // Own entries only: "constructor" or "__proto__" must not find Object.prototype's members.
  const ext = Object.hasOwn(EXTENSION_BY_TYPE, contentType) ? EXTENSION_BY_TYPE[contentType] : undefined;
  if (!ext) throw new TypeError(`no extension for ${contentType}`);
  return ext;
}

export function mediaKey(p: { orgId: string; ownerType: OwnerType; userId: string; uploadId: string; contentType: string }): string {
  assertSafe("orgId", p.orgId);
  assertSafe("userId", p.userId);
  assertSafe("uploadId", p.uploadId);
  return `${p.orgId}/${p.ownerType}/${p.userId}/${p.uploadId}.${extensionOf(p.contentType)}`;
}

/** Where a media upload is staged: its linked key (`mediaKey`) under `staging/`. */
export function stagedMediaKey(p: { orgId: string; ownerType: OwnerType; userId: string; uploadId: string; contentType: string }): string {
  return `${STAGING_PREFIX}${mediaKey(p)}`;
}

/** The linked location of a consumed staged media upload (same bucket). */
export function linkedKeyFor(stagedKey: string): string {
  if (!stagedKey.startsWith(STAGING_PREFIX)) throw new TypeError("not a staged media key");
  return stagedKey.slice(STAGING_PREFIX.length);
}

/**
 * The key replies announce for a media upload's record key: where the object is once linked (what
 * clients name to signed-urls), not where it is staged. A record made before staging/ existed
 * already holds its linked key.
 */
export function announcedMediaKey(recordKey: string): string {
  return recordKey.startsWith(STAGING_PREFIX) ? linkedKeyFor(recordKey) : recordKey;
}

export function incomingComplianceKey(p: { orgId: string; uploadId: string; contentType: string }): string {
  assertSafe("orgId", p.orgId);
  assertSafe("uploadId", p.uploadId);
  return `${INCOMING_PREFIX}${p.orgId}/${p.uploadId}.${extensionOf(p.contentType)}`;
}

/** The retained location of a consumed compliance upload. */
export function recordsKeyFor(incomingKey: string): string {
  if (!incomingKey.startsWith(INCOMING_PREFIX)) throw new TypeError("not an incoming compliance key");
  return `${RECORDS_PREFIX}${incomingKey.slice(INCOMING_PREFIX.length)}`;
}

export type ParsedKey =
  | { bucket: "media"; orgId: string; ownerType: OwnerType; userId: string; uploadId: string; contentType: string }
  | { bucket: "compliance"; stage: "incoming" | "records"; orgId: string; uploadId: string; contentType: string };

/**
 * Parses a key this module made; anything else (including look-alikes) is null. A staged media
 * key (`staging/…`) is not a key readers name: use `parseStagedMediaKey`.
 */
export function parseObjectKey(key: string): ParsedKey | null {
  const parts = key.split("/");
  const last = parts.at(-1) ?? "";
  const dot = last.lastIndexOf(".");
  if (dot <= 0) return null;
  const uploadId = last.slice(0, dot);
  const extension = last.slice(dot + 1);
  // Own entries only: a key ending in ".constructor" or ".__proto__" is just an unknown extension.
  const contentType = Object.hasOwn(TYPE_BY_EXTENSION, extension) ? TYPE_BY_EXTENSION[extension] : undefined;
  if (!contentType || !isSafeSegment(uploadId)) return null;

  if (parts.length === 3) {
    const [first, orgId] = parts as [string, string, string];
    const stage = `${first}/` === INCOMING_PREFIX ? "incoming" : `${first}/` === RECORDS_PREFIX ? "records" : null;
    if (!stage || !isSafeSegment(orgId)) return null;
    return { bucket: "compliance", stage, orgId, uploadId, contentType };
  }
  if (parts.length === 4) {
    const [orgId, ownerType, userId] = parts as [string, string, string, string];
    if (!isSafeSegment(orgId) || !isSafeSegment(userId) || !isOwnerType(ownerType) || ownerType === "form_signature") {
      return null;
    }
    return { bucket: "media", orgId, ownerType, userId, uploadId, contentType };
  }
  return null;
}

/** The upload a staged media object belongs to (`stagedMediaKey`'s shape); null for anything else. */
export function parseStagedMediaKey(key: string): Extract<ParsedKey, { bucket: "media" }> | null {
  if (!key.startsWith(STAGING_PREFIX)) return null;
  const parsed = parseObjectKey(key.slice(STAGING_PREFIX.length));
  return parsed?.bucket === "media" ? parsed : null;
}
