/** The ObjectStore port on R2/S3 with the AWS SDK v3 (only the commands used are imported). */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { DependencyUnavailableError } from "../../errors.js";
import {
  type CompleteMultipartOutcome,
  type DeleteOutcome,
  type ListedObject,
  type ListOptions,
  MAX_KEYS_PER_DELETE,
  type ObjectStore,
  type PutObjectInput,
  type PutOutcome,
  type StoredObjectInfo,
  type StoredPart,
} from "../../storage/object-store.js";

type S3Failure = { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;

const isNotFound = (error: unknown): boolean => {
  const e = error as S3Failure;
  return e?.name === "NotFound" || e?.name === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404;
};

/**
 * A conditional PUT that storage refused: 412 when the condition does not hold, 409 when S3 saw a
 * concurrent conditional write to the key win, and — for If-Match — 404 when there is no object.
 */
const isRefusedWrite = (error: unknown, input: PutObjectInput): boolean => {
  const e = error as S3Failure;
  if (!input.ifNoneMatch && input.ifMatch === undefined) return false;
  if (e?.name === "PreconditionFailed" || e?.$metadata?.httpStatusCode === 412) return true;
  if (e?.name === "ConditionalRequestConflict") return true;
  return input.ifMatch !== undefined && e?.name === "NoSuchKey";
};

/** An object too short for the requested range still answers with what it has. */
const isUnsatisfiableRange = (error: unknown): boolean => (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 416;

/** Runs a storage call; "not there" becomes null, any other failure DependencyUnavailableError. */
async function orNull<T>(call: () => Promise<T>): Promise<T | null> {
  try {
    return await call();
  } catch (error) {
    if (isNotFound(error)) return null;
    throw new DependencyUnavailableError("storage", { cause: error });
  }
}

const isNoSuchUpload = (error: unknown): boolean => {
  const e = error as S3Failure;
  return e?.name === "NoSuchUpload" || e?.$metadata?.httpStatusCode === 404;
};

/** What CompleteMultipartUpload refuses because of the parts listed (S3 and R2 codes). */
const isInvalidParts = (error: unknown): boolean => {
  const name = (error as S3Failure)?.name;
  return name === "InvalidPart" || name === "InvalidPartOrder" || name === "EntityTooSmall";
};

export class S3ObjectStore implements ObjectStore {
  constructor(private readonly client: S3Client) {}

  async createMultipart(bucket: string, key: string, contentType: string): Promise<{ storageUploadId: string }> {
    try {
      const out = await this.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType }));
      if (!out.UploadId) throw new Error("CreateMultipartUpload answered no UploadId");
      return { storageUploadId: out.UploadId };
    } catch (error) {
      throw new DependencyUnavailableError("storage", { cause: error });
    }
  }

  async listParts(bucket: string, key: string, storageUploadId: string): Promise<StoredPart[] | null> {
    const parts: StoredPart[] = [];
    let marker: string | undefined;
    try {
      // R2 pages ListParts (1000 a page); an upload may have up to 10 000 parts
      do {
        const out = await this.client.send(
          new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: storageUploadId, ...(marker ? { PartNumberMarker: marker } : {}) }),
        );
        for (const part of out.Parts ?? []) parts.push({ partNumber: part.PartNumber ?? 0, size: part.Size ?? 0, etag: part.ETag ?? "" });
        marker = out.IsTruncated ? out.NextPartNumberMarker : undefined;
      } while (marker);
      return parts;
    } catch (error) {
      if (isNoSuchUpload(error)) return null;
      throw new DependencyUnavailableError("storage", { cause: error });
    }
  }

  async completeMultipart(
    bucket: string,
    key: string,
    storageUploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<CompleteMultipartOutcome> {
    try {
      const out = await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: storageUploadId,
          MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })) },
        }),
      );
      return { ok: true, etag: out.ETag ?? "" };
    } catch (error) {
      if (isNoSuchUpload(error)) return { ok: false, reason: "no_such_upload" };
      if (isInvalidParts(error)) return { ok: false, reason: "invalid_part" };
      throw new DependencyUnavailableError("storage", { cause: error });
    }
  }

  async abortMultipart(bucket: string, key: string, storageUploadId: string): Promise<boolean> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: storageUploadId }));
      return true;
    } catch (error) {
      if (isNoSuchUpload(error)) return false;
      throw new DependencyUnavailableError("storage", { cause: error });
    }
  }

  async head(bucket: string, key: string): Promise<StoredObjectInfo | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }));
      const served = definedOnly({
        cacheControl: out.CacheControl,
        contentDisposition: out.ContentDisposition,
        contentEncoding: out.ContentEncoding,
        contentLanguage: out.ContentLanguage,
        expires: out.ExpiresString ?? out.Expires?.toUTCString(),
      });
      return {
        size: out.ContentLength ?? 0,
        contentType: out.ContentType ?? null,
        etag: out.ETag ?? "",
        ...(out.ChecksumSHA256 ? { checksumSha256: out.ChecksumSHA256 } : {}),
        ...(served ? { servedHeaders: served } : {}),
        ...(out.Metadata && Object.keys(out.Metadata).length > 0 ? { metadata: out.Metadata } : {}),
      };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw new DependencyUnavailableError("storage", { cause: error });
    }
  }

  async readFirstBytes(bucket: string, key: string, length: number): Promise<Uint8Array | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${length - 1}` }));
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (isUnsatisfiableRange(error)) return new Uint8Array();
      if (isNotFound(error)) return null;
      throw new DependencyUnavailableError("storage", { cause: error });
    }
  }

  async stream(bucket: string, key: string, maxBytes: number): Promise<AsyncIterable<Uint8Array> | null> {
    return orNull(async () => {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${maxBytes - 1}` }));
      return guardStream(out.Body as AsyncIterable<Uint8Array> | undefined);
    });
  }

  async put(input: PutObjectInput): Promise<PutOutcome> {
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: input.bucket,
          Key: input.key,
          Body: input.body,
          ContentType: input.contentType,
          ContentLength: input.body.length,
          ChecksumSHA256: input.checksumSha256,
          ...(input.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
          ...(input.ifMatch !== undefined ? { IfMatch: input.ifMatch } : {}),
          ...(input.metadata ? { Metadata: input.metadata } : {}),
          ...(input.cacheControl ? { CacheControl: input.cacheControl } : {}),
        }),
      );
      return { ok: true, etag: out.ETag ?? "" };
    } catch (error) {
      if (isRefusedWrite(error, input)) return { ok: false, reason: "precondition_failed" };
      throw new DependencyUnavailableError("storage", { cause: error });
    }
  }

  async copy(bucket: string, fromKey: string, toKey: string, toBucket: string = bucket): Promise<{ etag: string } | null> {
    try {
      const out = await this.client.send(
        new CopyObjectCommand({
          Bucket: toBucket,
          Key: toKey,
          CopySource: `${bucket}/${encodeURIComponent(fromKey).replaceAll("%2F", "/")}`,
          MetadataDirective: "COPY",
        }),
      );
      return { etag: out.CopyObjectResult?.ETag ?? "" };
    } catch (error) {
      // Only a missing source is "not there"; a missing bucket (also a 404) is a broken dependency.
      if ((error as S3Failure)?.name === "NoSuchKey") return null;
      throw new DependencyUnavailableError("storage", { cause: error });
    }
  }

  async *list(bucket: string, prefix: string, options?: ListOptions): AsyncIterable<ListedObject[]> {
    let token: string | undefined;
    do {
      let out: ListObjectsV2CommandOutput;
      try {
        out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : options?.startAfter ? { StartAfter: options.startAfter } : {}),
          }),
        );
      } catch (error) {
        throw new DependencyUnavailableError("storage", { cause: error });
      }
      // No empty pages: an empty listing yields nothing, as it does from memory.
      const page = (out.Contents ?? []).map((o) => ({ key: o.Key ?? "", size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 }));
      if (page.length > 0) yield page;
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  /** One DeleteObjects request per 1000 keys, one after another (a failing request stops the rest: retrying is safe). */
  async deleteObjects(bucket: string, keys: string[]): Promise<DeleteOutcome> {
    const outcome: DeleteOutcome = { deleted: [], failed: [] };
    for (let start = 0; start < keys.length; start += MAX_KEYS_PER_DELETE) {
      const batch = await this.deleteBatch(bucket, keys.slice(start, start + MAX_KEYS_PER_DELETE));
      outcome.deleted.push(...batch.deleted);
      outcome.failed.push(...batch.failed);
    }
    return outcome;
  }

  private async deleteBatch(bucket: string, keys: string[]): Promise<DeleteOutcome> {
    try {
      const out = await this.client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: false } }));
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

/** The object without its undefined (or empty) fields; null when none is left. */
function definedOnly<T extends Record<string, string | undefined>>(fields: T): { [K in keyof T]?: string } | null {
  const entries = Object.entries(fields).filter(([, value]) => value !== undefined && value !== "");
  return entries.length > 0 ? (Object.fromEntries(entries) as { [K in keyof T]?: string }) : null;
}

/** A storage failure while reading a body is a dependency failure too. */
async function* guardStream(body: AsyncIterable<Uint8Array> | undefined): AsyncIterable<Uint8Array> {
  if (!body) return;
  try {
    for await (const chunk of body) yield chunk;
  } catch (error) {
    throw new DependencyUnavailableError("storage", { cause: error });
  }
}
