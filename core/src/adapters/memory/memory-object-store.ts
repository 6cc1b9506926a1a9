/** An in-memory ObjectStore for core unit tests; `failNext` makes the next call fail like storage down. */
import { createHash } from "node:crypto";
import { DependencyUnavailableError } from "../../errors.js";
import type { DeleteOutcome, ObjectStore, PutObjectInput, StoredObjectInfo } from "../../storage/object-store.js";

interface StoredObject {
  body: Uint8Array;
  contentType: string;
  etag: string;
  checksumSha256?: string;
}

export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, StoredObject>();
  /** Names of the next calls to fail with DependencyUnavailableError("storage"). */
  readonly failNext = new Set<"head" | "put" | "copy" | "deleteObjects" | "readFirstBytes" | "stream">();

  private check(operation: Parameters<Set<string>["add"]>[0]): void {
    if (this.failNext.delete(operation as never)) throw new DependencyUnavailableError("storage");
  }

  private static id = (bucket: string, key: string) => `${bucket}/${key}`;

  async head(bucket: string, key: string): Promise<StoredObjectInfo | null> {
    this.check("head");
    const object = this.objects.get(MemoryObjectStore.id(bucket, key));
    if (!object) return null;
    return {
      size: object.body.length,
      contentType: object.contentType,
      etag: object.etag,
      ...(object.checksumSha256 ? { checksumSha256: object.checksumSha256 } : {}),
    };
  }

  async readFirstBytes(bucket: string, key: string, length: number): Promise<Uint8Array | null> {
    this.check("readFirstBytes");
    return this.objects.get(MemoryObjectStore.id(bucket, key))?.body.subarray(0, length) ?? null;
  }

  async stream(bucket: string, key: string, maxBytes: number): Promise<AsyncIterable<Uint8Array> | null> {
    this.check("stream");
    const body = this.objects.get(MemoryObjectStore.id(bucket, key))?.body;
    if (!body) return null;
    return (async function* () {
      yield body.subarray(0, maxBytes);
    })();
  }

  async put(input: PutObjectInput): Promise<{ etag: string }> {
    this.check("put");
    const id = MemoryObjectStore.id(input.bucket, input.key);
    if (input.ifNoneMatch && this.objects.has(id)) throw new Error("PreconditionFailed");
    const etag = `"${createHash("md5").update(input.body).digest("hex")}"`;
    this.objects.set(id, { body: input.body, contentType: input.contentType, etag, checksumSha256: input.checksumSha256 });
    return { etag };
  }

  async copy(bucket: string, fromKey: string, toKey: string): Promise<{ etag: string }> {
    this.check("copy");
    const object = this.objects.get(MemoryObjectStore.id(bucket, fromKey));
    if (!object) throw new Error("NoSuchKey");
    this.objects.set(MemoryObjectStore.id(bucket, toKey), { ...object });
    return { etag: object.etag };
  }

  async *list(bucket: string, prefix: string): AsyncIterable<{ key: string; size: number }[]> {
    const page = [...this.objects.entries()]
      .filter(([id]) => id.startsWith(`${bucket}/${prefix}`))
      .map(([id, o]) => ({ key: id.slice(bucket.length + 1), size: o.body.length }));
    for (let i = 0; i < page.length; i += 1000) yield page.slice(i, i + 1000);
  }

  async deleteObjects(bucket: string, keys: string[]): Promise<DeleteOutcome> {
    this.check("deleteObjects");
    for (const key of keys) this.objects.delete(MemoryObjectStore.id(bucket, key));
    return { deleted: [...keys], failed: [] };
  }
}
