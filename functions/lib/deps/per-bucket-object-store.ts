/**
 * An ObjectStore that sends each call to the store of its bucket (built once per bucket on first
 * use): how a function with one scoped token per bucket still sees one ObjectStore. A bucket with
 * no store (no token) rejects the call like any storage failure would, with the builder's error.
 */
import type {
  CompleteMultipartOutcome,
  DeleteOutcome,
  ListedObject,
  ListOptions,
  ObjectStore,
  PutObjectInput,
  PutOutcome,
  StoredObjectInfo,
  StoredPart,
} from "@fitkit/core/storage/object-store";

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
  /** With the destination's token, which also reads the source (the records writer reads the compliance bucket). */
  async copy(bucket: string, fromKey: string, toKey: string, toBucket: string = bucket): Promise<{ etag: string } | null> {
    return this.#for(toBucket).copy(bucket, fromKey, toKey, toBucket);
  }
  async *list(bucket: string, prefix: string, options?: ListOptions): AsyncIterable<ListedObject[]> {
    yield* this.#for(bucket).list(bucket, prefix, options);
  }
  async deleteObjects(bucket: string, keys: string[]): Promise<DeleteOutcome> {
    return this.#for(bucket).deleteObjects(bucket, keys);
  }
  async createMultipart(bucket: string, key: string, contentType: string): Promise<{ storageUploadId: string }> {
    return this.#for(bucket).createMultipart(bucket, key, contentType);
  }
  async listParts(bucket: string, key: string, storageUploadId: string): Promise<StoredPart[] | null> {
    return this.#for(bucket).listParts(bucket, key, storageUploadId);
  }
  async completeMultipart(
    bucket: string,
    key: string,
    storageUploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<CompleteMultipartOutcome> {
    return this.#for(bucket).completeMultipart(bucket, key, storageUploadId, parts);
  }
  async abortMultipart(bucket: string, key: string, storageUploadId: string): Promise<boolean> {
    return this.#for(bucket).abortMultipart(bucket, key, storageUploadId);
  }
}
