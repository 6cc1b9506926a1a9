/**
 * The object-storage port (R2 through the S3 API). Methods throw
 * DependencyUnavailableError("storage") when storage cannot answer; "not there" and "refused by a
 * condition" are values, as S3/R2 answer them (404, 412), never errors.
 */
/** S3/R2's DeleteObjects limit: keys per request. */
export const MAX_KEYS_PER_DELETE = 1000;

export interface StoredObjectInfo {
  size: number;
  contentType: string | null;
  etag: string;
  /** Base64 SHA-256 when storage kept one (the upload was signed with a checksum). */
  checksumSha256?: string;
  /**
   * Response headers storage kept from the upload and serves to every reader (absent when none).
   * A presigned PUT signs only SIGNED_PUT_HEADERS, so an uploader can add any of these unsigned.
   */
  servedHeaders?: ServedHeaders;
  /** User metadata (`x-amz-meta-*`: lower-case names without the prefix), served too; absent when none. */
  metadata?: Record<string, string>;
}

export interface ServedHeaders {
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  expires?: string;
}

export interface DeleteOutcome {
  /** Keys storage confirmed as gone (deleting a missing key is success). */
  deleted: string[];
  failed: { key: string; code: string }[];
}

export interface PutObjectInput {
  bucket: string;
  key: string;
  body: Uint8Array;
  contentType: string;
  /** Base64 SHA-256 of the body: storage verifies it and keeps it. */
  checksumSha256: string;
  /** Refuse to overwrite an existing object (`If-None-Match: *`). */
  ifNoneMatch?: boolean;
  /** Write only over the object that has this etag (`If-Match`); refused when it differs or there is none. */
  ifMatch?: string;
  metadata?: Record<string, string>;
  /** `Cache-Control` storage keeps and serves with the object (published renditions are immutable). */
  cacheControl?: string;
}

/** `startAfter`: only keys after this one (S3's `StartAfter`), so a listing can resume where a page ended. */
export interface ListOptions {
  startAfter?: string;
}

/** One entry of a listing. */
export interface ListedObject {
  key: string;
  size: number;
  /** When storage last wrote the object, in ms since the epoch (S3's `LastModified`, whole seconds on R2/S3). */
  lastModified: number;
}

/** A PUT that a condition (ifNoneMatch / ifMatch) refused stored nothing. */
export type PutOutcome = { ok: true; etag: string } | { ok: false; reason: "precondition_failed" };

/** R2's multipart rules: every part but the last of one size, at least MIN_PART_BYTES; at most MAX_PARTS parts (stated in the catalog). */
export { MAX_PARTS, MIN_PART_BYTES } from "../contract/catalog.js";

/** A part storage holds for a multipart upload in progress. */
export interface StoredPart {
  partNumber: number;
  size: number;
  /** As storage answers it (quoted). */
  etag: string;
}

/**
 * "no_such_upload": completed, aborted or never begun. "invalid_part": a listed part is missing,
 * its etag differs, or the sizes break R2's rules — nothing was written.
 */
export type CompleteMultipartOutcome = { ok: true; etag: string } | { ok: false; reason: "no_such_upload" | "invalid_part" };

export interface ObjectStore {
  /** Size, type and etag of an object, or null when there is none. */
  head(bucket: string, key: string): Promise<StoredObjectInfo | null>;
  /** The first `length` bytes (fewer if the object is shorter); null when there is no object. */
  readFirstBytes(bucket: string, key: string, length: number): Promise<Uint8Array | null>;
  /** The object's bytes as a stream, up to `maxBytes`, without buffering it whole. */
  stream(bucket: string, key: string, maxBytes: number): Promise<AsyncIterable<Uint8Array> | null>;
  /** Stores a copy of the bytes; answers the etag, or that a condition refused the write. */
  put(input: PutObjectInput): Promise<PutOutcome>;
  /**
   * Server-side copy (metadata and checksum kept) to `toKey` of `toBucket` (default: the same
   * bucket, which must be of the same account); null when there is no source. Safe to repeat.
   * Across buckets the destination's credentials must also read the source bucket.
   */
  copy(bucket: string, fromKey: string, toKey: string, toBucket?: string): Promise<{ etag: string } | null>;
  /** Every object under `prefix` in key order (UTF-8 bytes, as S3 lists), page by page (up to 1000 a page). */
  list(bucket: string, prefix: string, options?: ListOptions): AsyncIterable<ListedObject[]>;
  /** Deletes any number of keys, in requests of at most 1000 (S3/R2's DeleteObjects limit). */
  deleteObjects(bucket: string, keys: string[]): Promise<DeleteOutcome>;
  /** Begins a multipart upload of `key` (CreateMultipartUpload); the object will have `contentType`. */
  createMultipart(bucket: string, key: string, contentType: string): Promise<{ storageUploadId: string }>;
  /** The parts stored so far, ascending; null when the upload does not exist (completed, aborted, never begun). */
  listParts(bucket: string, key: string, storageUploadId: string): Promise<StoredPart[] | null>;
  /** Assembles the listed parts (ascending) into the object; the upload is gone afterwards. */
  completeMultipart(bucket: string, key: string, storageUploadId: string, parts: { partNumber: number; etag: string }[]): Promise<CompleteMultipartOutcome>;
  /** Discards the upload and its parts; false when it did not exist (any more). Safe to repeat. */
  abortMultipart(bucket: string, key: string, storageUploadId: string): Promise<boolean>;
}
