/** The ObjectStore port on R2/S3 with the AWS SDK v3 (only the commands used are imported). */
import { DeleteObjectsCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { DependencyUnavailableError } from "../../errors.js";
import type { DeleteOutcome, ObjectStore, StoredObjectInfo } from "../../storage/object-store.js";

const isNotFound = (error: unknown): boolean => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NotFound" || e?.name === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404;
};

export class S3ObjectStore implements ObjectStore {
  constructor(private readonly client: S3Client) {}

  async head(bucket: string, key: string): Promise<StoredObjectInfo | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        size: out.ContentLength ?? 0,
        contentType: out.ContentType ?? null,
        etag: out.ETag ?? "",
        ...(out.ChecksumSHA256 ? { checksumSha256: out.ChecksumSHA256 } : {}),
      };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw new DependencyUnavailableError("storage", { cause: error });
    }
  }

  async deleteObjects(bucket: string, keys: string[]): Promise<DeleteOutcome> {
    if (keys.length === 0) return { deleted: [], failed: [] };
    if (keys.length > 1000) throw new RangeError("DeleteObjects takes at most 1000 keys");
    try {
      const out = await this.client.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: false } }),
      );
      // Only what storage confirmed counts as deleted: the sweeper finalises nothing else.
      const confirmed = new Set((out.Deleted ?? []).map((d) => d.Key));
      const errors = new Map((out.Errors ?? []).map((e) => [e.Key, e.Code ?? "Unknown"]));
      return {
        deleted: keys.filter((k) => confirmed.has(k)),
        failed: keys.filter((k) => !confirmed.has(k)).map((key) => ({ key, code: errors.get(key) ?? "Unconfirmed" })),
      };
    } catch (error) {
      throw new DependencyUnavailableError("storage", { cause: error });
    }
  }
}
