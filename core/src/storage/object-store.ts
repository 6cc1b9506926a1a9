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

export interface ObjectStore {
  /** Size, type and etag of an object, or null when there is none. */
  head(bucket: string, key: string): Promise<StoredObjectInfo | null>;
  /** Deletes up to 1000 keys in one request. */
  deleteObjects(bucket: string, keys: string[]): Promise<DeleteOutcome>;
}
