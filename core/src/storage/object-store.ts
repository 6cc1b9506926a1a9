/**
 * The object-storage port (R2 through the S3 API). Methods throw
 * DependencyUnavailableError("storage") when storage cannot answer; "not there" is a value.
 */
export interface StoredObjectInfo {
  size: number;
  contentType: string | null;
  etag: string;
  /** Base64 SHA-256 when storage kept one (the upload was signed with a checksum). */
  checksumSha256?: string;
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
  /** Refuse to overwrite an existing object. */
  ifNoneMatch?: boolean;
  metadata?: Record<string, string>;
}

export interface ObjectStore {
  /** Size, type and etag of an object, or null when there is none. */
  head(bucket: string, key: string): Promise<StoredObjectInfo | null>;
  /** The first `length` bytes (fewer if the object is shorter); null when there is no object. */
  readFirstBytes(bucket: string, key: string, length: number): Promise<Uint8Array | null>;
  /** The object's bytes as a stream, up to `maxBytes`, without buffering it whole. */
  stream(bucket: string, key: string, maxBytes: number): Promise<AsyncIterable<Uint8Array> | null>;
  /** Stores bytes; answers the etag. */
  put(input: PutObjectInput): Promise<{ etag: string }>;
  /** Server-side copy within a bucket (metadata and checksum kept). Safe to repeat. */
  copy(bucket: string, fromKey: string, toKey: string): Promise<{ etag: string }>;
  /** Every object under `prefix`, page by page (up to 1000 a page). */
  list(bucket: string, prefix: string): AsyncIterable<{ key: string; size: number }[]>;
  /** Deletes up to 1000 keys in one request. */
  deleteObjects(bucket: string, keys: string[]): Promise<DeleteOutcome>;
}
