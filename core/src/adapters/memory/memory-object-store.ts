/**
 * An in-memory ObjectStore for core unit tests, answering as S3/R2 do (the ObjectStore contract
 * suite runs it beside the S3 adapter on a real server); `failNext` makes the next call fail like
 * storage down.
 */
import { createHash, randomBytes } from "node:crypto";
import { DependencyUnavailableError } from "../../errors.js";
import {
  type CompleteMultipartOutcome,
  type DeleteOutcome,
  type ListedObject,
  type ListOptions,
  MIN_PART_BYTES,
  type ObjectStore,
  type PutObjectInput,
  type PutOutcome,
  type ServedHeaders,
  type StoredObjectInfo,
  type StoredPart,
} from "../../storage/object-store.js";
import { type Clock, systemClock } from "../../time/clock.js";

/** One stored object; tests may set `servedHeaders` as an uploader's unsigned headers would. */
export interface StoredObject {
  body: Uint8Array;
  contentType: string;
  etag: string;
  checksumSha256?: string;
  servedHeaders?: ServedHeaders;
  metadata?: Record<string, string>;
  /** When it was written (ms); absent = the epoch, as for an object planted with no time. */
  lastModified?: number;
}

/** S3/R2 list at most 1000 keys a page. */
const LIST_PAGE_SIZE = 1000;

const md5Etag = (body: Uint8Array): string => `"${createHash("md5").update(body).digest("hex")}"`;

const unquote = (etag: string): string => etag.replace(/^W\//, "").replaceAll('"', "");

/** S3 orders keys by their UTF-8 bytes (JavaScript's default sort uses UTF-16 code units). */
const byUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

interface MultipartInProgress {
  bucket: string;
  key: string;
  contentType: string;
  parts: Map<number, { body: Uint8Array; etag: string }>;
}

export class MemoryObjectStore implements ObjectStore {
  /** `clock` stamps each write's `lastModified`, as storage's own clock does. */
  constructor(private readonly clock: Clock = systemClock) {}

  readonly objects = new Map<string, StoredObject>();
  /** Multipart uploads in progress, by storage upload id. */
  readonly multipartUploads = new Map<string, MultipartInProgress>();
  /** Names of the next calls to fail with DependencyUnavailableError("storage"). */
  readonly failNext = new Set<"head" | "put" | "copy" | "deleteObjects" | "readFirstBytes" | "stream">();

  private check(operation: Parameters<Set<string>["add"]>[0]): void {
    if (this.failNext.delete(operation as never)) throw new DependencyUnavailableError("storage");
  }

  private static id = (bucket: string, key: string) => `${bucket}/${key}`;

  async createMultipart(bucket: string, key: string, contentType: string): Promise<{ storageUploadId: string }> {
    const storageUploadId = randomBytes(16).toString("hex");
    this.multipartUploads.set(storageUploadId, { bucket, key, contentType, parts: new Map() });
    return { storageUploadId };
  }

  /** What a presigned UploadPart does (the port has no such method: clients send parts to storage themselves). */
  uploadPart(bucket: string, key: string, storageUploadId: string, partNumber: number, body: Uint8Array): string | null {
    const upload = this.upload(bucket, key, storageUploadId);
    if (!upload) return null;
    const etag = md5Etag(body);
    upload.parts.set(partNumber, { body, etag });
    return etag;
  }

  private upload(bucket: string, key: string, storageUploadId: string): MultipartInProgress | null {
    const upload = this.multipartUploads.get(storageUploadId);
    return upload && upload.bucket === bucket && upload.key === key ? upload : null;
  }

  async listParts(bucket: string, key: string, storageUploadId: string): Promise<StoredPart[] | null> {
    const upload = this.upload(bucket, key, storageUploadId);
    if (!upload) return null;
    return [...upload.parts.entries()].sort((a, b) => a[0] - b[0]).map(([partNumber, part]) => ({ partNumber, size: part.body.length, etag: part.etag }));
  }

  async completeMultipart(
    bucket: string,
    key: string,
    storageUploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<CompleteMultipartOutcome> {
    const upload = this.upload(bucket, key, storageUploadId);
    if (!upload) return { ok: false, reason: "no_such_upload" };
    const found = parts.map((part) => upload.parts.get(part.partNumber));
    const valid = parts.every((part, i) => {
      const stored = found[i];
      if (!stored || unquote(stored.etag) !== unquote(part.etag)) return false;
      if (i > 0 && part.partNumber <= parts[i - 1]!.partNumber) return false;
      const last = i === parts.length - 1;
      return last || (stored.body.length >= MIN_PART_BYTES && stored.body.length === found[0]!.body.length);
    });
    if (!valid || parts.length === 0) return { ok: false, reason: "invalid_part" };
    const body = Buffer.concat(found.map((part) => part!.body));
    const etag = md5Etag(body);
    this.objects.set(MemoryObjectStore.id(bucket, key), { body, contentType: upload.contentType, etag });
    this.multipartUploads.delete(storageUploadId);
    return { ok: true, etag };
  }

  async abortMultipart(bucket: string, key: string, storageUploadId: string): Promise<boolean> {
    if (!this.upload(bucket, key, storageUploadId)) return false;
    this.multipartUploads.delete(storageUploadId);
    return true;
  }

  async head(bucket: string, key: string): Promise<StoredObjectInfo | null> {
    this.check("head");
    const object = this.objects.get(MemoryObjectStore.id(bucket, key));
    if (!object) return null;
    return {
      size: object.body.length,
      contentType: object.contentType,
      etag: object.etag,
      ...(object.checksumSha256 ? { checksumSha256: object.checksumSha256 } : {}),
      ...(object.servedHeaders ? { servedHeaders: { ...object.servedHeaders } } : {}),
      ...(object.metadata && Object.keys(object.metadata).length > 0 ? { metadata: { ...object.metadata } } : {}),
    };
  }

  async readFirstBytes(bucket: string, key: string, length: number): Promise<Uint8Array | null> {
    this.check("readFirstBytes");
    return this.objects.get(MemoryObjectStore.id(bucket, key))?.body.slice(0, length) ?? null;
  }

  async stream(bucket: string, key: string, maxBytes: number): Promise<AsyncIterable<Uint8Array> | null> {
    this.check("stream");
    const body = this.objects.get(MemoryObjectStore.id(bucket, key))?.body;
    if (!body) return null;
    return (async function* () {
      yield body.slice(0, maxBytes);
    })();
  }

  async put(input: PutObjectInput): Promise<PutOutcome> {
    this.check("put");
    const id = MemoryObjectStore.id(input.bucket, input.key);
    const current = this.objects.get(id);
    if (input.ifNoneMatch && current) return { ok: false, reason: "precondition_failed" };
    if (input.ifMatch !== undefined && (!current || unquote(current.etag) !== unquote(input.ifMatch))) return { ok: false, reason: "precondition_failed" };
    const etag = `"${createHash("md5").update(input.body).digest("hex")}"`;
    // Storage keeps its own copy: a later change to the caller's buffer does not reach it.
    this.objects.set(id, {
      body: new Uint8Array(input.body),
      contentType: input.contentType,
      etag,
      checksumSha256: input.checksumSha256,
      lastModified: this.clock.now(),
      // S3 answers metadata names in lower case.
      ...(input.metadata ? { metadata: Object.fromEntries(Object.entries(input.metadata).map(([k, v]) => [k.toLowerCase(), v])) } : {}),
      ...(input.cacheControl ? { servedHeaders: { cacheControl: input.cacheControl } } : {}),
    });
    return { ok: true, etag };
  }

  async copy(bucket: string, fromKey: string, toKey: string, toBucket: string = bucket): Promise<{ etag: string } | null> {
    this.check("copy");
    const object = this.objects.get(MemoryObjectStore.id(bucket, fromKey));
    if (!object) return null;
    this.objects.set(MemoryObjectStore.id(toBucket, toKey), { ...object, lastModified: this.clock.now() });
    return { etag: object.etag };
  }

  async *list(bucket: string, prefix: string, options?: ListOptions): AsyncIterable<ListedObject[]> {
    const after = options?.startAfter;
    const page = [...this.objects.entries()]
      .filter(([id]) => id.startsWith(`${bucket}/${prefix}`))
      .filter(([id]) => after === undefined || byUtf8(id.slice(bucket.length + 1), after) > 0)
      .map(([id, o]) => ({ key: id.slice(bucket.length + 1), size: o.body.length, lastModified: o.lastModified ?? 0 }))
      .sort((a, b) => byUtf8(a.key, b.key));
    for (let i = 0; i < page.length; i += LIST_PAGE_SIZE) yield page.slice(i, i + LIST_PAGE_SIZE);
  }

  async deleteObjects(bucket: string, keys: string[]): Promise<DeleteOutcome> {
    this.check("deleteObjects");
    for (const key of keys) this.objects.delete(MemoryObjectStore.id(bucket, key));
    return { deleted: [...keys], failed: [] };
  }
}
