/**
 * The upload API's HTTP client: `POST /uploads` (presign) and `POST /uploads/signed-urls`, with the
 * session token, retries on network errors and transient answers, and the API's errors as typed
 * `UploadClientError`s. Knows nothing of storage or progress.
 */
import type { PresignableOwnerType } from "@fitkit/core/contract/catalog";
import { apiError, UploadClientError } from "./errors.js";
import { backoffDelay, type RetryPolicy, sleep } from "./retry.js";
import { abortedError } from "./transport.js";

export interface ApiClientOptions {
  /** The API origin (and path prefix, if any); trailing slashes are ignored. */
  apiBaseUrl: string;
  /** The current session token, asked for before every call. */
  getToken: () => string | null | undefined | Promise<string | null | undefined>;
  fetch: typeof fetch;
  retry: RetryPolicy;
}

/** A file as presign needs it: what it declares, not its bytes. */
export interface FileToPresign {
  contentType: string;
  size: number;
  fileName?: string;
  sha256?: string;
}

export interface PresignedUpload {
  uploadId: string;
  key: string;
  url: string;
  headers: Record<string, string>;
  /** Local-clock time after which the URL is expired (computed from the server's own clock). */
  deadline: number;
}

/** One key's answer: a `url` only when `ready`; images also carry their size and placeholder once processed. */
export interface SignedUrl {
  key: string;
  status: "ready" | "processing" | "failed";
  url?: string;
  expiresAt?: string;
  width?: number;
  height?: number;
  /** ThumbHash, base64. */
  placeholder?: string;
  /** Why a `failed` image has no URL: IMAGE_TOO_LARGE, IMAGE_UNREADABLE, NOT_LINKED. */
  code?: string;
}

/** Which copy of an image to sign (docs/API.md, "Image variants"). */
export type ImageVariant = "original" | "display" | "thumb";

export interface SignedUrlsOptions {
  expiresIn?: number;
  variant?: ImageVariant;
  signal?: AbortSignal;
}

export interface ApiClient {
  /** One presign for up to 10 files (the API's batch limit); uploads in the files' order. */
  presign(ownerType: PresignableOwnerType, files: readonly FileToPresign[], signal: AbortSignal): Promise<PresignedUpload[]>;
  /** Signed GET URLs for keys the caller may read, in request order. */
  signedUrls(keys: readonly string[], options?: SignedUrlsOptions): Promise<SignedUrl[]>;
}

const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);

export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.apiBaseUrl.replace(/\/+$/, "");
  const { retry } = options;

  /** A JSON call to the API, retried on network errors and transient answers. */
  async function call<T>(path: string, payload: unknown, signal: AbortSignal): Promise<{ body: T; receivedAt: number; serverNow: number }> {
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
        response = await options.fetch(`${base}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify(payload),
          signal,
        });
        text = await response.text();
      } catch (error) {
        if (signal.aborted) throw abortedError();
        if (attempt > retry.retries) throw new UploadClientError("NETWORK_ERROR", "The upload API could not be reached.", { cause: error });
        await sleep(backoffDelay(retry, attempt), signal);
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
      if (TRANSIENT_STATUSES.has(response.status) && attempt <= retry.retries) {
        const retryAfter = Number(response.headers.get("retry-after")) * 1000;
        const delay = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : backoffDelay(retry, attempt);
        if (delay <= retry.maxDelayMs) {
          await sleep(delay, signal);
          continue;
        }
      }
      throw apiError(response.status, body);
    }
  }

  async function presign(ownerType: PresignableOwnerType, files: readonly FileToPresign[], signal: AbortSignal): Promise<PresignedUpload[]> {
    const { body, receivedAt, serverNow } = await call<{ uploads?: unknown }>(
      "/uploads",
      {
        ownerType,
        files: files.map((file) => ({
          contentType: file.contentType,
          size: file.size,
          ...(file.fileName ? { fileName: file.fileName.slice(0, 255) } : {}),
          ...(file.sha256 ? { sha256: file.sha256 } : {}),
        })),
      },
      signal,
    );
    const uploads = body.uploads;
    if (!Array.isArray(uploads) || uploads.length !== files.length || !uploads.every(isPresignAnswer)) {
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

  async function signedUrls(keys: readonly string[], signedOptions: SignedUrlsOptions = {}): Promise<SignedUrl[]> {
    const signal = signedOptions.signal ?? new AbortController().signal;
    const { body } = await call<{ urls?: unknown }>(
      "/uploads/signed-urls",
      {
        keys,
        ...(signedOptions.expiresIn === undefined ? {} : { expiresIn: signedOptions.expiresIn }),
        ...(signedOptions.variant === undefined ? {} : { variant: signedOptions.variant }),
      },
      signal,
    );
    const urls = body.urls;
    if (!Array.isArray(urls) || urls.length !== keys.length)
      throw new UploadClientError("BAD_RESPONSE", "The signed-urls answer is not the contract's.", { status: 200 });
    return urls as SignedUrl[];
  }

  return { presign, signedUrls };
}

function isPresignAnswer(value: unknown): value is { uploadId: string; key: string; url: string; headers: Record<string, string>; expiresAt: string } {
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
export function signedUrlExpiry(url: string): number | undefined {
  const date = /[?&]X-Amz-Date=(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(url);
  const expires = /[?&]X-Amz-Expires=(\d+)/.exec(url);
  if (!date || !expires) return undefined;
  const [, y, mo, d, h, mi, sec] = date.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, sec) + Number(expires[1]) * 1000;
}
