/**
 * An ObjectStore that sends each call to the store of its bucket (built once per bucket on first
 * use): how a function with one scoped token per bucket still sees one ObjectStore. A bucket with
 * no store (no token) rejects the call like any storage failure would, with the builder's error.
 */
import type { DeleteOutcome, ListedObject, ObjectStore, PutObjectInput, PutOutcome, StoredObjectInfo } from "@fitkit/core/storage/object-store";

export class PerBucketObjectStore implements ObjectStore {
  readonly #stores = new Map<string, ObjectStore>();
  readonly #build: (bucket: string) => ObjectStore;

  constructor(build: (bucket: string) => ObjectStore) {
    this.#build = build;
  }

  #for(bucket: string): ObjectStore {
    let store = this.#stores.get(bucket);
    if (!store) {
      store = this.#build(bucket);
      this.#stores.set(bucket, store);
    }
    return store;
  }

  async head(bucket: string, key: string): Promise<StoredObjectInfo | null> {
    return this.#for(bucket).head(bucket, key);
  }
  async readFirstBytes(bucket: string, key: string, length: number): Promise<Uint8Array | null> {
    return this.#for(bucket).readFirstBytes(bucket, key, length);
  }
  async stream(bucket: string, key: string, maxBytes: number): Promise<AsyncIterable<Uint8Array> | null> {
    return this.#for(bucket).stream(bucket, key, maxBytes);
  }
  async put(input: PutObjectInput): Promise<PutOutcome> {
    return this.#for(input.bucket).put(input);
  }
  async copy(bucket: string, fromKey: string, toKey: string): Promise<{ etag: string } | null> {
    return this.#for(bucket).copy(bucket, fromKey, toKey);
  }
  async *list(bucket: string, prefix: string): AsyncIterable<ListedObject[]> {
    yield* this.#for(bucket).list(bucket, prefix);
  }
  async deleteObjects(bucket: string, keys: string[]): Promise<DeleteOutcome> {
    return this.#for(bucket).deleteObjects(bucket, keys);
  }
}
