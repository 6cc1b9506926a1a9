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

/** One entry of a listing. */
export interface ListedObject {
  key: string;
  size: number;
  /** When storage last wrote the object, in ms since the epoch (S3's `LastModified`, whole seconds on R2/S3). */
  lastModified: number;
}

/** A PUT that a condition (ifNoneMatch / ifMatch) refused stored nothing. */
export type PutOutcome = { ok: true; etag: string } | { ok: false; reason: "precondition_failed" };

export interface ObjectStore {
  /** Size, type and etag of an object, or null when there is none. */
  head(bucket: string, key: string): Promise<StoredObjectInfo | null>;
  /** The first `length` bytes (fewer if the object is shorter); null when there is no object. */
  readFirstBytes(bucket: string, key: string, length: number): Promise<Uint8Array | null>;
  /** The object's bytes as a stream, up to `maxBytes`, without buffering it whole. */
  stream(bucket: string, key: string, maxBytes: number): Promise<AsyncIterable<Uint8Array> | null>;
  /** Stores a copy of the bytes; answers the etag, or that a condition refused the write. */
  put(input: PutObjectInput): Promise<PutOutcome>;
  /** Server-side copy within a bucket (metadata and checksum kept); null when there is no source. Safe to repeat. */
  copy(bucket: string, fromKey: string, toKey: string): Promise<{ etag: string } | null>;
  /** Every object under `prefix` in key order (UTF-8 bytes, as S3 lists), page by page (up to 1000 a page). */
  list(bucket: string, prefix: string): AsyncIterable<ListedObject[]>;
  /** Deletes any number of keys, in requests of at most 1000 (S3/R2's DeleteObjects limit). */
  deleteObjects(bucket: string, keys: string[]): Promise<DeleteOutcome>;
}
