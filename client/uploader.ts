/**
 * `createUploader`: presign (batch, `POST /uploads`) → PUT each file straight to storage with the
 * exact signed headers, with progress, retries and re-presign on expiry → `{ uploadId, key }` per
 * file for the app to send with its parent write (whose service then calls `consume`).
 */
import { apiError, UploadClientError } from "./errors.js";
import { abortedError, fetchTransport, type PutTransport, type UploadBody, xhrTransport } from "./transport.js";

/** The owner types an app can presign (form signatures go through their own public route). */
export type OwnerType = "progress_photo" | "exercise_comment" | "message" | "organization_logo" | "minisite_media";

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

export interface RetryOptions {
  /** Retries after a network error or a transient answer (429, 502, 503, 504), per request. Default 4. */
  retries?: number;
  /** First backoff delay; doubles each retry, with jitter. Default 500 ms. */
  minDelayMs?: number;
  /** Longest backoff delay (and longest `Retry-After` honoured). Default 15 000 ms. */
  maxDelayMs?: number;
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

export type FileState = "queued" | "uploading" | "retrying" | "done";

export interface FileProgress {
  index: number;
  fileName?: string;
  /** Bytes sent; never goes backwards (a retry resumes the bar where it was). */
  loaded: number;
  total: number;
  state: FileState;
  /** Attempts so far (1 = first try). */
  attempt: number;
}

export interface UploadProgress {
  /** Bytes sent over all files, never decreasing. */
  loaded: number;
  total: number;
  /** 0…1; reaches 1 only once every file is stored. */
  fraction: number;
  /** 0…100 (floored); 100 only once every file is stored. */
  percent: number;
  files: FileProgress[];
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

export interface SignedUrl {
  key: string;
  url: string;
  expiresAt: string;
}

export interface Uploader {
  /** Uploads every file or rejects with an UploadClientError; results are in input order. */
  upload(files: UploadSource | readonly UploadSource[], options: UploadOptions): Promise<UploadedFile[]>;
  /** Signed GET URLs for keys the caller may read (`POST /uploads/signed-urls`), in request order. */
  signedUrls(keys: readonly string[], options?: { expiresIn?: number; signal?: AbortSignal }): Promise<SignedUrl[]>;
}

interface PresignedUpload {
  uploadId: string;
  key: string;
  url: string;
  headers: Record<string, string>;
  /** Local-clock time after which the URL is expired (computed from the server's own clock). */
  deadline: number;
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
const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);
const STORAGE_TRANSIENT_STATUSES = new Set([429, 500, 502, 503, 504]);
const EXTENSION_TYPES: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  heic: "image/heic",
  mp4: "video/mp4",
  mov: "video/quicktime",
  webm: "video/webm",
  pdf: "application/pdf",
};

const isBlob = (value: unknown): value is Blob => typeof Blob !== "undefined" && value instanceof Blob;

export function createUploader(options: UploaderOptions): Uploader {
  const base = options.apiBaseUrl.replace(/\/+$/, "");
  const fetchFn = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const Xhr = options.XMLHttpRequest === undefined ? (globalThis as { XMLHttpRequest?: new () => XMLHttpRequest }).XMLHttpRequest : options.XMLHttpRequest;
  const transport = options.transport ?? (Xhr ? xhrTransport(Xhr) : fetchTransport(fetchFn));
  const retries = options.retry?.retries ?? 4;
  const minDelayMs = options.retry?.minDelayMs ?? 500;
  const maxDelayMs = options.retry?.maxDelayMs ?? 15_000;
  const concurrency = Math.max(1, options.concurrency ?? 3);
  const maxRepresigns = options.maxRepresigns ?? 3;

  const backoff = (attempt: number) => {
    const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** (attempt - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  };

  /** A JSON call to the API, retried on network errors and transient answers. */
  async function callApi<T>(path: string, payload: unknown, signal: AbortSignal): Promise<{ body: T; receivedAt: number; serverNow: number }> {
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw abortedError();
      let token: string | null | undefined;
      try {
        token = await options.getToken();
      } catch (error) {
        throw new UploadClientError("UNAUTHENTICATED", "getToken() failed.", { cause: error });
      }
      if (signal.aborted) throw abortedError();
      if (!token) throw new UploadClientError("UNAUTHENTICATED", "No session token: getToken() returned nothing.");
      let response: Response;
      let text: string;
      try {
        response = await fetchFn(`${base}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify(payload),
          signal,
        });
        text = await response.text();
      } catch (error) {
        if (signal.aborted) throw abortedError();
        if (attempt > retries) throw new UploadClientError("NETWORK_ERROR", "The upload API could not be reached.", { cause: error });
        await sleep(backoff(attempt), signal);
        continue;
      }
      const receivedAt = Date.now();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON: handled below */
      }
      if (response.ok) {
        if (body === null || typeof body !== "object")
          throw new UploadClientError("BAD_RESPONSE", `The API answered ${response.status} without a JSON body.`, { status: response.status });
        // `Date` has whole seconds: the server's "now" is up to 999 ms after it (err on the early side).
        const date = Date.parse(response.headers.get("date") ?? "");
        return { body: body as T, receivedAt, serverNow: Number.isFinite(date) ? date + 999 : receivedAt };
      }
      if (TRANSIENT_STATUSES.has(response.status) && attempt <= retries) {
        const retryAfter = Number(response.headers.get("retry-after")) * 1000;
        const delay = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : backoff(attempt);
        if (delay <= maxDelayMs) {
          await sleep(delay, signal);
          continue;
        }
      }
      throw apiError(response.status, body);
    }
  }

  async function presign(ownerType: OwnerType, jobs: readonly FileJob[], signal: AbortSignal): Promise<PresignedUpload[]> {
    const { body, receivedAt, serverNow } = await callApi<{ uploads?: unknown }>(
      "/uploads",
      {
        ownerType,
        files: jobs.map((job) => ({
          contentType: job.contentType,
          size: job.size,
          ...(job.fileName ? { fileName: job.fileName.slice(0, 255) } : {}),
          ...(job.sha256 ? { sha256: job.sha256 } : {}),
        })),
      },
      signal,
    );
    const uploads = body.uploads;
    if (!Array.isArray(uploads) || uploads.length !== jobs.length || !uploads.every(isPresignedUpload)) {
      throw new UploadClientError("BAD_RESPONSE", "The presign answer is not the contract's.", { status: 201 });
    }
    // The URL's lifetime by the server's clock, placed on ours: a phone's wrong clock does not matter.
    return uploads.map((upload) => {
      const expires = Math.min(Date.parse(upload.expiresAt), signedUrlExpiry(upload.url) ?? Infinity);
      return {
        uploadId: upload.uploadId,
        key: upload.key,
        url: upload.url,
        headers: upload.headers,
        deadline: Number.isFinite(expires) ? receivedAt + (expires - serverNow) : Infinity,
      };
    });
  }

  async function upload(input: UploadSource | readonly UploadSource[], uploadOptions: UploadOptions): Promise<UploadedFile[]> {
    const sources: readonly UploadSource[] = Array.isArray(input) ? input : [input as UploadSource];
    const jobs = sources.map(toJob);
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
        presigned.push(...(await presign(uploadOptions.ownerType, jobs.slice(i, i + PRESIGN_BATCH), batch.signal)));
      }

      let next = 0;
      const worker = async () => {
        while (!batch.signal.aborted && next < jobs.length) {
          const job = jobs[next]!;
          const first = presigned[next]!;
          next++;
          try {
            const stored = await putFile(uploadOptions.ownerType, job, first, progress, batch.signal);
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

  /** PUTs one file until storage has it: retries transient failures, presigns again when the URL expired. */
  async function putFile(ownerType: OwnerType, job: FileJob, first: PresignedUpload, progress: ProgressTracker, signal: AbortSignal): Promise<PresignedUpload> {
    let current = first;
    let failures = 0;
    let represigns = 0;
    // True once a PUT to the current URL may have landed without us hearing back.
    let uncertain = false;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw abortedError();
      // A file that waited its turn past its URL's lifetime gets a fresh URL before it is sent.
      if (Date.now() >= current.deadline && represigns < maxRepresigns) {
        represigns++;
        current = (await presign(ownerType, [job], signal))[0]!;
        uncertain = false;
      }
      progress.update(job.index, { state: attempt === 1 ? "uploading" : "retrying", attempt });
      let response: { status: number; text: string };
      try {
        response = await transport({
          url: current.url,
          headers: current.headers,
          body: job.body,
          size: job.size,
          signal,
          onProgress: (loaded) => progress.update(job.index, { loaded }),
        });
      } catch (error) {
        if (signal.aborted) throw abortedError();
        if (!(error instanceof UploadClientError) || error.code !== "NETWORK_ERROR") throw error;
        uncertain = true;
        if (++failures > retries) throw error;
        progress.update(job.index, { state: "retrying" });
        await sleep(backoff(failures), signal);
        continue;
      }
      const { status, text } = response;
      if (status >= 200 && status < 300) {
        progress.update(job.index, { state: "done" });
        return current;
      }
      // `if-none-match: *` refused: only this URL could have written the key, so an earlier
      // attempt whose answer was lost did land.
      if (status === 412 && uncertain) {
        progress.update(job.index, { state: "done" });
        return current;
      }
      if (status === 403 && /request has expired/i.test(text) && represigns < maxRepresigns) {
        represigns++;
        current = (await presign(ownerType, [job], signal))[0]!;
        uncertain = false;
        continue;
      }
      const storage = storageError(text);
      if (STORAGE_TRANSIENT_STATUSES.has(status) && ++failures <= retries) {
        progress.update(job.index, { state: "retrying" });
        await sleep(backoff(failures), signal);
        continue;
      }
      const details = [
        { index: job.index, ...(storage.code ? { storageCode: storage.code } : {}), ...(storage.message ? { storageMessage: storage.message } : {}) },
      ];
      if (status >= 500 || status === 429) {
        throw new UploadClientError("DEPENDENCY_UNAVAILABLE", `Storage is unavailable (${status}).`, { status, details });
      }
      throw new UploadClientError("STORAGE_REJECTED", `Storage refused the upload (${status}${storage.code ? ` ${storage.code}` : ""}).`, { status, details });
    }
  }

  async function signedUrls(keys: readonly string[], signedOptions: { expiresIn?: number; signal?: AbortSignal } = {}): Promise<SignedUrl[]> {
    const signal = signedOptions.signal ?? new AbortController().signal;
    const { body } = await callApi<{ urls?: unknown }>(
      "/uploads/signed-urls",
      { keys, ...(signedOptions.expiresIn === undefined ? {} : { expiresIn: signedOptions.expiresIn }) },
      signal,
    );
    const urls = body.urls;
    if (!Array.isArray(urls) || urls.length !== keys.length)
      throw new UploadClientError("BAD_RESPONSE", "The signed-urls answer is not the contract's.", { status: 200 });
    return urls as SignedUrl[];
  }

  return { upload, signedUrls };
}

function toJob(source: UploadSource, index: number): FileJob {
  const input: UploadInput = isBlob(source)
    ? { body: source, ...("name" in source && typeof source.name === "string" && source.name ? { fileName: source.name } : {}) }
    : source;
  const body = input.body;
  const size = isBlob(body) ? body.size : body.byteLength;
  const declared = input.contentType ?? (isBlob(body) ? body.type : "");
  let contentType = declared.split(";")[0]!.trim().toLowerCase();
  if (!contentType && input.fileName) contentType = EXTENSION_TYPES[input.fileName.split(".").pop()!.toLowerCase()] ?? "";
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

function isPresignedUpload(value: unknown): value is { uploadId: string; key: string; url: string; headers: Record<string, string>; expiresAt: string } {
  const v = value as Record<string, unknown> | null;
  return (
    !!v &&
    typeof v.uploadId === "string" &&
    typeof v.key === "string" &&
    typeof v.url === "string" &&
    typeof v.expiresAt === "string" &&
    !!v.headers &&
    typeof v.headers === "object"
  );
}

/**
 * When a SigV4 presigned URL stops working by the signer's clock: `X-Amz-Date` (whole seconds) +
 * `X-Amz-Expires`. Read with regular expressions: React Native's `URL` has no `searchParams`.
 */
function signedUrlExpiry(url: string): number | undefined {
  const date = /[?&]X-Amz-Date=(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(url);
  const expires = /[?&]X-Amz-Expires=(\d+)/.exec(url);
  if (!date || !expires) return undefined;
  const [, y, mo, d, h, mi, sec] = date.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, sec) + Number(expires[1]) * 1000;
}

/** Code and message of storage's XML error document (S3 and R2 answer the same shape). */
function storageError(text: string): { code?: string; message?: string } {
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]{1,300})<\/Message>/.exec(text)?.[1];
  return { ...(code ? { code } : {}), ...(message ? { message } : {}) };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortedError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Per-file and total progress, monotonic, reported as snapshots. */
class ProgressTracker {
  private readonly files: FileProgress[];
  private last = "";

  constructor(
    jobs: readonly FileJob[],
    private readonly listener: ((progress: UploadProgress) => void) | undefined,
  ) {
    this.files = jobs.map((job) => ({
      index: job.index,
      ...(job.fileName ? { fileName: job.fileName } : {}),
      loaded: 0,
      total: job.size,
      state: "queued",
      attempt: 0,
    }));
  }

  update(index: number, change: { loaded?: number; state?: FileState; attempt?: number }): void {
    const file = this.files[index]!;
    if (file.state === "done") return;
    if (change.state) file.state = change.state;
    if (change.attempt !== undefined) file.attempt = change.attempt;
    if (file.state === "done") file.loaded = file.total;
    // Until storage has confirmed the file, keep one byte back: 100% means stored, not sent.
    else if (change.loaded !== undefined) file.loaded = Math.max(file.loaded, Math.min(change.loaded, file.total - 1));
    this.emit();
  }

  emit(): void {
    if (!this.listener) return;
    const loaded = this.files.reduce((sum, f) => sum + f.loaded, 0);
    const total = this.files.reduce((sum, f) => sum + f.total, 0);
    const allDone = this.files.every((f) => f.state === "done");
    const fraction = allDone ? 1 : total === 0 ? 0 : Math.min(loaded / total, 0.9999);
    const signature = this.files.map((f) => `${f.loaded}:${f.state}:${f.attempt}`).join(",");
    if (signature === this.last) return;
    this.last = signature;
    const snapshot: UploadProgress = { loaded, total, fraction, percent: allDone ? 100 : Math.floor(fraction * 100), files: this.files.map((f) => ({ ...f })) };
    try {
      this.listener(snapshot);
    } catch (error) {
      // A bug in the app's callback must not break the upload; surface it like an event handler's.
      setTimeout(() => {
        throw error;
      }, 0);
    }
  }
}
