/** Wrappers that count calls to a port, so tests can assert round trips and batch sizes. */
import type { LuaScript, RedisScriptDriver } from "@fitkit/core/adapters/redis/driver";
import type { ListOptions, ObjectStore, PutObjectInput } from "@fitkit/core/storage/object-store";

export class CountingDriver implements RedisScriptDriver {
  calls: string[] = [];
  constructor(private readonly inner: RedisScriptDriver) {}
  run(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    this.calls.push(script.name);
    return this.inner.run(script, keys, args);
  }
  reset(): void {
    this.calls = [];
  }
}

export class CountingObjectStore implements ObjectStore {
  heads = 0;
  puts = 0;
  deleteBatches: number[] = [];
  /** Set to make the next deleteObjects call throw this error once. */
  failNextDelete: Error | null = null;
  constructor(private readonly inner: ObjectStore) {}
  head(bucket: string, key: string) {
    this.heads += 1;
    return this.inner.head(bucket, key);
  }
  readFirstBytes(bucket: string, key: string, length: number) {
    return this.inner.readFirstBytes(bucket, key, length);
  }
  stream(bucket: string, key: string, maxBytes: number) {
    return this.inner.stream(bucket, key, maxBytes);
  }
  put(input: PutObjectInput) {
    this.puts += 1;
    return this.inner.put(input);
  }
  list(bucket: string, prefix: string, options?: ListOptions) {
    return this.inner.list(bucket, prefix, options);
  }
  copy(bucket: string, fromKey: string, toKey: string) {
    return this.inner.copy(bucket, fromKey, toKey);
  }
  deleteObjects(bucket: string, keys: string[]) {
    this.deleteBatches.push(keys.length);
    const failure = this.failNextDelete;
    this.failNextDelete = null;
    if (failure) return Promise.reject(failure);
    return this.inner.deleteObjects(bucket, keys);
  }
  createMultipart(bucket: string, key: string, contentType: string) {
    return this.inner.createMultipart(bucket, key, contentType);
  }
  listParts(bucket: string, key: string, storageUploadId: string) {
    return this.inner.listParts(bucket, key, storageUploadId);
  }
  completeMultipart(bucket: string, key: string, storageUploadId: string, parts: { partNumber: number; etag: string }[]) {
    return this.inner.completeMultipart(bucket, key, storageUploadId, parts);
  }
  abortMultipart(bucket: string, key: string, storageUploadId: string) {
    return this.inner.abortMultipart(bucket, key, storageUploadId);
  }
}
