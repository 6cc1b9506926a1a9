/**
 * `createUploader`: presign (batch, `POST /uploads`) → PUT each file straight to storage with the
 * exact signed headers, with progress, retries and re-presign on expiry → `{ uploadId, key }` per
 * file for the app to send with its parent write (whose service then calls `consume`).
 *
 * This module runs the batch (files in, presign 10 at a time, `concurrency` PUTs at once, all or
 * nothing); the parts it runs are `api-client.ts` (the API calls), `put-file.ts` (one file's PUT
 * with retries and re-presign) and `progress.ts` (progress accounting).
 */
import { type PresignableOwnerType, TYPE_BY_EXTENSION } from "@fitkit/core/contract/catalog";
import { createApiClient, type PresignedUpload, type SignedUrl, type SignedUrlsOptions, type UploadPolicy } from "./api-client.js";
import { UploadClientError } from "./errors.js";
import { ProgressTracker, type UploadProgress } from "./progress.js";
import { putFile } from "./put-file.js";
import { type RetryOptions, retryPolicy } from "./retry.js";
import { abortedError, fetchTransport, type PutTransport, type UploadBody, xhrTransport } from "./transport.js";

/** The owner types an app can presign (form signatures go through their own public route). */
export type OwnerType = PresignableOwnerType;

/** A file to upload: a `Blob`/`File`, or bytes with their declared type. */
export type UploadSource = Blob | UploadInput;

export interface UploadInput {
  body: UploadBody;
  /** Exact, lower-case MIME type; defaults to the Blob's own type, then to the file name's extension. */
  contentType?: string;
  fileName?: string;
  /** Base64 of the SHA-256 of the bytes; storage then checks it (R2 does). */
  sha256?: string;
}

export interface UploaderOptions {
  /** The API origin (and path prefix, if any), e.g. `https://uploads.fitkit.app`. */
  apiBaseUrl: string;
  /** The current session token (e.g. Clerk's `getToken`), asked for before every API call. */
  getToken: () => string | null | undefined | Promise<string | null | undefined>;
  /** Defaults to the global `fetch`. Used for the API calls, and for PUTs where there is no XMLHttpRequest. */
  fetch?: typeof fetch;
  /** Defaults to the global one when present; `null` forces `fetch` for the PUTs. */
  XMLHttpRequest?: (new () => XMLHttpRequest) | null;
  /** Replaces the PUT transport altogether (tests, custom stacks). */
  transport?: PutTransport;
  retry?: RetryOptions;
  /** Files sent at the same time. Default 3. */
  concurrency?: number;
  /** New presigns per file when its URL has expired (storage's 403 "Request has expired"). Default 3. */
  maxRepresigns?: number;
}

export interface UploadOptions {
  ownerType: OwnerType;
  onProgress?: (progress: UploadProgress) => void;
  /** Cancels presigns, PUTs and backoff waits; the upload then rejects with code `ABORTED`. */
  signal?: AbortSignal;
}

/** What the app sends with its parent write (the service that writes it calls `consume`). */
export interface UploadedFile {
  uploadId: string;
  key: string;
  contentType: string;
  size: number;
  fileName?: string;
}

export interface Uploader {
  /** Uploads every file or rejects with an UploadClientError; results are in input order. */
  upload(files: UploadSource | readonly UploadSource[], options: UploadOptions): Promise<UploadedFile[]>;
  /** Signed GET URLs for keys the caller may read (`POST /uploads/signed-urls`), in request order. */
  signedUrls(keys: readonly string[], options?: SignedUrlsOptions): Promise<SignedUrl[]>;
  /** The owner types this caller may presign, with their allowed types and size limits (`GET /uploads/policy`). */
  policy(options?: { signal?: AbortSignal }): Promise<UploadPolicy>;
}

interface FileJob {
  index: number;
  body: UploadBody;
  size: number;
  contentType: string;
  fileName?: string;
  sha256?: string;
}

/** The API's batch limit for one presign. */
const PRESIGN_BATCH = 10;
/** A file name's extension → its type: the server's own extensions, and `.jpeg` as people write it. */
const TYPE_BY_FILE_EXTENSION: Readonly<Record<string, string>> = { ...TYPE_BY_EXTENSION, jpeg: "image/jpeg" };

/** The type guessed from a file name's extension, or "" (own keys only: "a.constructor" is no type). */
export function typeForFileName(fileName: string): string {
  const extension = fileName.split(".").pop()!.toLowerCase();
  return Object.hasOwn(TYPE_BY_FILE_EXTENSION, extension) ? TYPE_BY_FILE_EXTENSION[extension]! : "";
}

const isBlob = (value: unknown): value is Blob => typeof Blob !== "undefined" && value instanceof Blob;

export function createUploader(options: UploaderOptions): Uploader {
  const fetchFn = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const Xhr = options.XMLHttpRequest === undefined ? (globalThis as { XMLHttpRequest?: new () => XMLHttpRequest }).XMLHttpRequest : options.XMLHttpRequest;
  const transport = options.transport ?? (Xhr ? xhrTransport(Xhr) : fetchTransport(fetchFn));
  const retry = retryPolicy(options.retry);
  const concurrency = Math.max(1, options.concurrency ?? 3);
  const maxRepresigns = options.maxRepresigns ?? 3;
  const api = createApiClient({ apiBaseUrl: options.apiBaseUrl, getToken: options.getToken, fetch: fetchFn, retry });

  async function upload(input: UploadSource | readonly UploadSource[], uploadOptions: UploadOptions): Promise<UploadedFile[]> {
    const sources: readonly UploadSource[] = Array.isArray(input) ? input : [input as UploadSource];
    const jobs = sources.map(toJob);
    const { ownerType } = uploadOptions;
    const outer = uploadOptions.signal;
    if (outer?.aborted) throw abortedError();

    // One controller for the batch: the caller's abort, or the first fatal error, stops every file.
    const batch = new AbortController();
    const onOuterAbort = () => batch.abort();
    outer?.addEventListener("abort", onOuterAbort, { once: true });
    const progress = new ProgressTracker(jobs, uploadOptions.onProgress);
    let firstError: unknown;
    const fail = (error: unknown) => {
      firstError ??= error;
      batch.abort();
    };

    try {
      progress.emit();
      const results: (UploadedFile | undefined)[] = new Array(jobs.length);
      const presigned: PresignedUpload[] = [];
      for (let i = 0; i < jobs.length; i += PRESIGN_BATCH) {
        presigned.push(...(await api.presign(ownerType, jobs.slice(i, i + PRESIGN_BATCH), batch.signal)));
      }

      let next = 0;
      const worker = async () => {
        while (!batch.signal.aborted && next < jobs.length) {
          const job = jobs[next]!;
          const first = presigned[next]!;
          next++;
          try {
            const stored = await putFile({
              index: job.index,
              body: job.body,
              size: job.size,
              first,
              represign: async (signal) => (await api.presign(ownerType, [job], signal))[0]!,
              transport,
              retry,
              maxRepresigns,
              report: (change) => progress.update(job.index, change),
              signal: batch.signal,
            });
            results[job.index] = {
              uploadId: stored.uploadId,
              key: stored.key,
              contentType: job.contentType,
              size: job.size,
              ...(job.fileName ? { fileName: job.fileName } : {}),
            };
          } catch (error) {
            fail(error);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
      if (outer?.aborted) throw abortedError();
      if (firstError !== undefined) throw firstError;
      progress.emit();
      return results as UploadedFile[];
    } catch (error) {
      if (outer?.aborted) throw abortedError();
      throw firstError ?? error;
    } finally {
      outer?.removeEventListener("abort", onOuterAbort);
    }
  }

  return { upload, signedUrls: (keys, signedOptions) => api.signedUrls(keys, signedOptions), policy: (policyOptions) => api.policy(policyOptions) };
}

function toJob(source: UploadSource, index: number): FileJob {
  const input: UploadInput = isBlob(source)
    ? { body: source, ...("name" in source && typeof source.name === "string" && source.name ? { fileName: source.name } : {}) }
    : source;
  const body = input.body;
  const size = isBlob(body) ? body.size : body.byteLength;
  const declared = input.contentType ?? (isBlob(body) ? body.type : "");
  let contentType = declared.split(";")[0]!.trim().toLowerCase();
  if (!contentType && input.fileName) contentType = typeForFileName(input.fileName);
  const problems: string[] = [];
  if (!contentType) problems.push("contentType");
  if (!(size >= 1)) problems.push("size");
  if (problems.length > 0) {
    throw new UploadClientError("INVALID_REQUEST", `File ${index} has no ${problems.join(" and no ")}.`, {
      details: problems.map((field) => ({ index, path: `files.${index}.${field}`, message: field === "size" ? "the file is empty" : "the type is unknown" })),
    });
  }
  return {
    index,
    body,
    size,
    contentType,
    ...(input.fileName ? { fileName: input.fileName } : {}),
    ...(input.sha256 ? { sha256: input.sha256 } : {}),
  };
}
