/**
 * `createUploader`: presign (batch, `POST /uploads`) → each file straight to storage (one PUT with
 * the exact signed headers, or in parts when the server answers a multipart upload), with
 * progress, retries and new URLs on expiry → `{ uploadId, key }` per file for the app to send with
 * its parent write (whose service then calls `consume`).
 *
 * This module runs the batch (files in, presign `PRESIGN_MAX_FILES` at a time, `concurrency` files at once, all or
 * nothing, unfinished multipart uploads resumed); the parts it runs are `api-client.ts` (the API
 * calls), `put-file.ts` (one file's PUT), `multipart.ts` (one file in parts), `resume-store.ts`
 * (unfinished uploads remembered across reloads) and `progress.ts` (progress accounting).
 */
import { MAX_PARTS_PER_SIGNING, PRESIGN_MAX_FILES, type PresignableOwnerType, TYPE_BY_EXTENSION } from "@fitkit/core/contract/catalog";
import { createApiClient, type PresignedUpload, type SignedUrl, type SignedUrlsOptions, type UploadPolicy } from "./api-client.js";
import { isUploadClientError, UploadClientError } from "./errors.js";
import { type PartPlan, uploadMultipart } from "./multipart.js";
import { type FileProgressChange, ProgressTracker, type UploadProgress } from "./progress.js";
import { putFile } from "./put-file.js";
import { defaultResumeStorage, isRecognisableFile, type RecognisableFile, type RememberedUpload, ResumeRegistry, type ResumeStorage } from "./resume-store.js";
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
  /** New presigns per file (or new URLs per part) when a URL has expired (storage's 403 "Request has expired"). Default 3. */
  maxRepresigns?: number;
  /** Parts of one multipart upload sent at the same time. Default 4. */
  partConcurrency?: number;
  /** Part URLs asked for in one `POST /uploads/{uploadId}/parts` (1 to the API's `MAX_PARTS_PER_SIGNING`). Default 20. */
  partsPerSigning?: number;
  /**
   * Where unfinished multipart uploads are remembered, so `upload()` of the same `File` after a
   * reload resumes it. Defaults to `localStorage` where there is one; `null` remembers nothing.
   */
  resumeStorage?: ResumeStorage | null;
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

export interface ResumeOptions {
  /** The owner type it was presigned for: lets the uploader forget its remembered entry once done. */
  ownerType?: OwnerType;
  onProgress?: (progress: UploadProgress) => void;
  /** Cancels the parts and the upload itself (`DELETE /uploads/{uploadId}`); rejects with `ABORTED`. */
  signal?: AbortSignal;
}

export interface Uploader {
  /** Uploads every file or rejects with an UploadClientError; results are in input order. */
  upload(files: UploadSource | readonly UploadSource[], options: UploadOptions): Promise<UploadedFile[]>;
  /**
   * Finishes a multipart upload begun earlier (in another session, before a crash): asks storage
   * which parts it holds, sends only the others (a part of the wrong size again), then completes.
   */
  resume(uploadId: string, file: UploadSource, options?: ResumeOptions): Promise<UploadedFile>;
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
  /** A picked file that can be recognised again after a reload (for resuming). */
  file?: RecognisableFile;
}

/** A file name's extension → its type: the server's own extensions, and `.jpeg` as people write it. */
const TYPE_BY_FILE_EXTENSION: Readonly<Record<string, string>> = { ...TYPE_BY_EXTENSION, jpeg: "image/jpeg" };

/** The type guessed from a file name's extension, or "" (own keys only: "a.constructor" is no type). */
export function typeForFileName(fileName: string): string {
  const extension = fileName.split(".").pop()!.toLowerCase();
  return Object.hasOwn(TYPE_BY_FILE_EXTENSION, extension) ? TYPE_BY_FILE_EXTENSION[extension]! : "";
}

const isBlob = (value: unknown): value is Blob => typeof Blob !== "undefined" && value instanceof Blob;

/** Answers for an upload the server no longer has staged: start a new one instead. */
const GONE_CODES = new Set(["NOT_FOUND", "ALREADY_CONSUMED", "EXPIRED"]);

export function createUploader(options: UploaderOptions): Uploader {
  const fetchFn = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const Xhr = options.XMLHttpRequest === undefined ? (globalThis as { XMLHttpRequest?: new () => XMLHttpRequest }).XMLHttpRequest : options.XMLHttpRequest;
  const transport = options.transport ?? (Xhr ? xhrTransport(Xhr) : fetchTransport(fetchFn));
  const retry = retryPolicy(options.retry);
  const concurrency = Math.max(1, options.concurrency ?? 3);
  const maxRepresigns = options.maxRepresigns ?? 3;
  const partConcurrency = Math.max(1, options.partConcurrency ?? 4);
  const partsPerSigning = Math.min(MAX_PARTS_PER_SIGNING, Math.max(1, options.partsPerSigning ?? 20));
  const api = createApiClient({ apiBaseUrl: options.apiBaseUrl, getToken: options.getToken, fetch: fetchFn, retry });
  const registry = new ResumeRegistry(options.resumeStorage === undefined ? defaultResumeStorage() : options.resumeStorage, options.apiBaseUrl);

  /** One file in parts; remembered (when it can be recognised again) until it completes or is cancelled. */
  async function sendInParts(
    job: FileJob,
    upload: { uploadId: string; plan?: PartPlan; resume: boolean },
    ownerType: OwnerType | undefined,
    report: (change: FileProgressChange) => void,
    signal: AbortSignal,
  ): Promise<{ uploadId: string; key: string }> {
    const remember = (plan: PartPlan) => {
      if (ownerType && job.file) registry.remember(ownerType, job.file, { uploadId: upload.uploadId, ...plan, contentType: job.contentType, size: job.size });
    };
    const forget = () => {
      if (ownerType && job.file) registry.forget(ownerType, job.file);
    };
    try {
      const completed = await uploadMultipart({
        index: job.index,
        body: job.body,
        size: job.size,
        uploadId: upload.uploadId,
        ...(upload.plan ? { plan: upload.plan } : {}),
        resume: upload.resume,
        api,
        transport,
        retry,
        concurrency: partConcurrency,
        partsPerSigning,
        maxResigns: maxRepresigns,
        report,
        onPlan: remember,
        signal,
      });
      forget();
      return completed;
    } catch (error) {
      // Cancelled (and so deleted on the server), or gone there: nothing left to resume.
      if (isUploadClientError(error) && (error.code === "ABORTED" || GONE_CODES.has(error.code))) forget();
      throw error;
    }
  }

  /** One file of a batch, by the mode the server chose; a remembered upload the server lost is presigned afresh. */
  async function sendFile(
    job: FileJob,
    ownerType: OwnerType,
    first: PresignedUpload | undefined,
    remembered: RememberedUpload | undefined,
    progress: ProgressTracker,
    signal: AbortSignal,
  ): Promise<{ uploadId: string; key: string }> {
    const report = (change: FileProgressChange) => progress.update(job.index, change);
    if (remembered) {
      try {
        return await sendInParts(job, { uploadId: remembered.uploadId, plan: remembered, resume: true }, ownerType, report, signal);
      } catch (error) {
        if (!(isUploadClientError(error) && GONE_CODES.has(error.code))) throw error;
      }
    }
    const upload = first ?? (await api.presign(ownerType, [job], signal))[0]!;
    if (upload.mode === "multipart") {
      return sendInParts(job, { uploadId: upload.uploadId, plan: upload, resume: false }, ownerType, report, signal);
    }
    return putFile({
      index: job.index,
      body: job.body,
      size: job.size,
      first: upload,
      represign: async (represignSignal) => {
        const again = (await api.presign(ownerType, [job], represignSignal))[0]!;
        if (again.mode !== "single") throw new UploadClientError("BAD_RESPONSE", "A new presign of a single PUT answered a multipart upload.", { status: 201 });
        return again;
      },
      transport,
      retry,
      maxRepresigns,
      report,
      signal,
    });
  }

  /** Runs `run` under one controller linked to the caller's signal; rejects with `ABORTED` once the caller aborted. */
  async function underSignal<T>(outer: AbortSignal | undefined, run: (controller: AbortController) => Promise<T>): Promise<T> {
    if (outer?.aborted) throw abortedError();
    const controller = new AbortController();
    const onOuterAbort = () => controller.abort();
    outer?.addEventListener("abort", onOuterAbort, { once: true });
    try {
      return await run(controller);
    } catch (error) {
      if (outer?.aborted) throw abortedError();
      throw error;
    } finally {
      outer?.removeEventListener("abort", onOuterAbort);
    }
  }

  async function upload(input: UploadSource | readonly UploadSource[], uploadOptions: UploadOptions): Promise<UploadedFile[]> {
    const sources: readonly UploadSource[] = Array.isArray(input) ? input : [input as UploadSource];
    const jobs = sources.map(toJob);
    const { ownerType } = uploadOptions;

    // One controller for the batch: the caller's abort, or the first fatal error, stops every file.
    return underSignal(uploadOptions.signal, async (batch) => {
      const progress = new ProgressTracker(jobs, uploadOptions.onProgress);
      let firstError: unknown;
      const fail = (error: unknown) => {
        firstError ??= error;
        batch.abort();
      };
      try {
        progress.emit();
        const results: (UploadedFile | undefined)[] = new Array(jobs.length);
        // Files whose unfinished upload this browser remembers resume it; the others are presigned.
        const remembered = jobs.map((job) => (job.file ? registry.find(ownerType, job.file, job.contentType) : undefined));
        const toPresign = jobs.filter((job) => !remembered[job.index]);
        const presigned: (PresignedUpload | undefined)[] = new Array(jobs.length);
        for (let i = 0; i < toPresign.length; i += PRESIGN_MAX_FILES) {
          const group = toPresign.slice(i, i + PRESIGN_MAX_FILES);
          const answers = await api.presign(ownerType, group, batch.signal);
          for (const [k, job] of group.entries()) presigned[job.index] = answers[k];
        }

        let next = 0;
        const worker = async () => {
          while (!batch.signal.aborted && next < jobs.length) {
            const job = jobs[next++]!;
            try {
              const stored = await sendFile(job, ownerType, presigned[job.index], remembered[job.index], progress, batch.signal);
              results[job.index] = uploadedFile(job, stored);
            } catch (error) {
              fail(error);
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
        if (uploadOptions.signal?.aborted) throw abortedError();
        if (firstError !== undefined) throw firstError;
        progress.emit();
        return results as UploadedFile[];
      } catch (error) {
        throw firstError ?? error;
      }
    });
  }

  async function resume(uploadId: string, source: UploadSource, resumeOptions: ResumeOptions = {}): Promise<UploadedFile> {
    const job = toJob(source, 0);
    const { ownerType } = resumeOptions;
    return underSignal(resumeOptions.signal, async (controller) => {
      const progress = new ProgressTracker([job], resumeOptions.onProgress);
      progress.emit();
      const remembered = ownerType && job.file ? registry.find(ownerType, job.file, job.contentType) : undefined;
      const stored = await sendInParts(
        job,
        { uploadId, ...(remembered?.uploadId === uploadId ? { plan: remembered } : {}), resume: true },
        ownerType,
        (change) => progress.update(0, change),
        controller.signal,
      );
      return uploadedFile(job, stored);
    });
  }

  return {
    upload,
    resume,
    signedUrls: (keys, signedOptions) => api.signedUrls(keys, signedOptions),
    policy: (policyOptions) => api.policy(policyOptions),
  };
}

function uploadedFile(job: FileJob, stored: { uploadId: string; key: string }): UploadedFile {
  return {
    uploadId: stored.uploadId,
    key: stored.key,
    contentType: job.contentType,
    size: job.size,
    ...(job.fileName ? { fileName: job.fileName } : {}),
  };
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
    ...(isBlob(source) && isRecognisableFile(source) ? { file: source } : {}),
  };
}
