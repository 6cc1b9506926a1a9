/**
 * The upload API's HTTP client: `POST /uploads` (presign), the multipart routes
 * (`POST|GET /uploads/{uploadId}/parts`, `POST /uploads/{uploadId}/complete`), `DELETE
 * /uploads/{uploadId}`, `POST /uploads/signed-urls` and `GET /uploads/policy`, with the session
 * token, retries on network errors and transient answers, and the API's errors as typed
 * `UploadClientError`s. Knows nothing of storage or progress.
 */
import type { MediaVariant, PresignableOwnerType } from "@fitkit/core/contract/catalog";
import type { CompletedUpload, PresignAnswer, SignedUrl, SignPartsAnswer, StoredPart, UploadPolicy } from "./contract.js";
import { apiError, UploadClientError } from "./errors.js";
import { parseRetryAfter, type RetryPolicy, retryDelay, sleep } from "./retry.js";
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
  /** Ask for a multipart (resumable) upload even below the server's threshold (videos over 5 MiB). */
  multipart?: boolean;
}

/** A file presign answered with one PUT URL. */
export interface PresignedPut {
  mode: "single";
  uploadId: string;
  key: string;
  url: string;
  headers: Record<string, string>;
  /** Local-clock time after which the URL is expired (computed from the server's own clock). */
  deadline: number;
}

/** A file presign answered as a multipart upload: no URL; its parts are signed on demand. */
export interface PresignedMultipart {
  mode: "multipart";
  uploadId: string;
  key: string;
  /** Every part is this long but the last (the remainder). */
  partSize: number;
  partCount: number;
}

/** The server decides the mode (multipart above its threshold). */
export type PresignedUpload = PresignedPut | PresignedMultipart;

/** One part's URL from `POST /uploads/{uploadId}/parts`, with its expiry placed on the local clock. */
export interface SignedPart {
  partNumber: number;
  url: string;
  /** Send exactly (`content-length`, which the runtime sets from the body). */
  headers: Record<string, string>;
  /** Local-clock time after which the URL is expired (computed from the server's own clock). */
  deadline: number;
}

/**
 * Which copy to sign: an image's processed copies (`original`, `display`, `thumb`), or a video's
 * (`original` without metadata, `playback` — the H.264/AAC MP4 to play — and `poster`)
 * (docs/API.md, "Image variants", "Video variants").
 */
export type { MediaVariant };

export interface SignedUrlsOptions {
  expiresIn?: number;
  variant?: MediaVariant;
  signal?: AbortSignal;
}

export type { CompletedUpload, SignedUrl, StoredPart, UploadPolicy };

export interface ApiClient {
  /**
   * One presign for up to `PRESIGN_MAX_FILES` files (the API's batch limit); uploads in the files' order. Each call
   * sends one idempotency key (a new one unless given) with every retry of it, so a retry after an
   * unknown outcome (a 503, a lost answer) gets the same uploads instead of reserving them twice.
   */
  presign(ownerType: PresignableOwnerType, files: readonly FileToPresign[], signal: AbortSignal, idempotencyKey?: string): Promise<PresignedUpload[]>;
  /** Signed GET URLs for keys the caller may read, in request order. */
  signedUrls(keys: readonly string[], options?: SignedUrlsOptions): Promise<SignedUrl[]>;
  /** What the caller may upload, to check a file before presigning it. */
  policy(options?: { signal?: AbortSignal }): Promise<UploadPolicy>;
  /** URLs for parts of a multipart upload (at most `MAX_PARTS_PER_SIGNING` per call), in request order. */
  signParts(uploadId: string, partNumbers: readonly number[], signal: AbortSignal): Promise<SignedPart[]>;
  /** The parts storage already holds, ascending (to resume). */
  listParts(uploadId: string, signal: AbortSignal): Promise<StoredPart[]>;
  /** Assembles a multipart upload from its parts; safe to repeat. */
  completeMultipart(uploadId: string, signal: AbortSignal): Promise<CompletedUpload>;
  /** Cancels a staged upload (single or multipart): storage drops it, the reservation is given back. */
  cancel(uploadId: string, signal: AbortSignal): Promise<void>;
}

const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);

export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.apiBaseUrl.replace(/\/+$/, "");
  const { retry } = options;

  /**
   * A JSON call to the API (POST with `payload`, GET without, or DELETE), retried on network errors
   * and transient answers. Every route here may be repeated safely (presign through its idempotency key).
   */
  async function call<T>(
    path: string,
    payload: unknown,
    signal: AbortSignal,
    method: "GET" | "POST" | "DELETE" = payload === undefined ? "GET" : "POST",
  ): Promise<{ body: T; receivedAt: number; serverNow: number }> {
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
        response = await options.fetch(
          `${base}${path}`,
          payload === undefined
            ? { method, headers: { authorization: `Bearer ${token}` }, signal }
            : { method, headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(payload), signal },
        );
        text = await response.text();
      } catch (error) {
        if (signal.aborted) throw abortedError();
        const delay = retryDelay(retry, attempt);
        if (delay === undefined) throw new UploadClientError("NETWORK_ERROR", "The upload API could not be reached.", { cause: error });
        await sleep(delay, signal);
        continue;
      }
      const receivedAt = Date.now();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON: handled below */
      }
      if (response.status === 204) return { body: {} as T, receivedAt, serverNow: receivedAt };
      if (response.ok) {
        if (body === null || typeof body !== "object")
          throw new UploadClientError("BAD_RESPONSE", `The API answered ${response.status} without a JSON body.`, { status: response.status });
        // `Date` has whole seconds: the server's "now" is up to 999 ms after it (err on the early side).
        const date = Date.parse(response.headers.get("date") ?? "");
        return { body: body as T, receivedAt, serverNow: Number.isFinite(date) ? date + 999 : receivedAt };
      }
      if (TRANSIENT_STATUSES.has(response.status)) {
        const delay = retryDelay(retry, attempt, parseRetryAfter(response.headers.get("retry-after")));
        if (delay !== undefined) {
          await sleep(delay, signal);
          continue;
        }
      }
      throw apiError(response.status, body);
    }
  }

  async function presign(
    ownerType: PresignableOwnerType,
    files: readonly FileToPresign[],
    signal: AbortSignal,
    idempotencyKey: string = newIdempotencyKey(),
  ): Promise<PresignedUpload[]> {
    // One payload, so every retry of this call carries the same key.
    const { body, receivedAt, serverNow } = await call<{ uploads?: unknown }>(
      "/uploads",
      {
        ownerType,
        files: files.map((file) => ({
          contentType: file.contentType,
          size: file.size,
          ...(file.fileName ? { fileName: file.fileName.slice(0, 255) } : {}),
          ...(file.sha256 ? { sha256: file.sha256 } : {}),
          ...(file.multipart ? { multipart: true } : {}),
        })),
        idempotencyKey,
      },
      signal,
    );
    const uploads = body.uploads;
    if (!Array.isArray(uploads) || uploads.length !== files.length || !uploads.every(isPresignAnswer)) {
      throw new UploadClientError("BAD_RESPONSE", "The presign answer is not the contract's.", { status: 201 });
    }
    return uploads.map((upload): PresignedUpload => {
      if (upload.mode === "multipart") {
        return { mode: "multipart", uploadId: upload.uploadId, key: upload.key, partSize: upload.partSize, partCount: upload.partCount };
      }
      return {
        mode: "single",
        uploadId: upload.uploadId,
        key: upload.key,
        url: upload.url,
        headers: upload.headers,
        deadline: localDeadline(upload.expiresAt, upload.url, receivedAt, serverNow),
      };
    });
  }

  async function signParts(uploadId: string, partNumbers: readonly number[], signal: AbortSignal): Promise<SignedPart[]> {
    const { body, receivedAt, serverNow } = await call<Partial<SignPartsAnswer>>(`/uploads/${encodeURIComponent(uploadId)}/parts`, { partNumbers }, signal);
    const parts = body.parts;
    if (!Array.isArray(parts) || typeof body.expiresAt !== "string" || !parts.every(isSignedPart))
      throw new UploadClientError("BAD_RESPONSE", "The part-signing answer is not the contract's.", { status: 201 });
    const expiresAt = body.expiresAt;
    return parts.map((part) => ({ ...part, deadline: localDeadline(expiresAt, part.url, receivedAt, serverNow) }));
  }

  async function listParts(uploadId: string, signal: AbortSignal): Promise<StoredPart[]> {
    const { body } = await call<{ parts?: StoredPart[] }>(`/uploads/${encodeURIComponent(uploadId)}/parts`, undefined, signal);
    const parts = body.parts;
    if (!Array.isArray(parts) || !parts.every((p) => Number.isInteger(p?.partNumber) && Number.isInteger(p?.size)))
      throw new UploadClientError("BAD_RESPONSE", "The list-parts answer is not the contract's.", { status: 200 });
    return parts;
  }

  async function completeMultipart(uploadId: string, signal: AbortSignal): Promise<CompletedUpload> {
    const { body } = await call<Partial<CompletedUpload>>(`/uploads/${encodeURIComponent(uploadId)}/complete`, {}, signal);
    if (typeof body.key !== "string" || typeof body.uploadId !== "string" || !Number.isInteger(body.size))
      throw new UploadClientError("BAD_RESPONSE", "The complete answer is not the contract's.", { status: 200 });
    return body as CompletedUpload;
  }

  async function cancel(uploadId: string, signal: AbortSignal): Promise<void> {
    await call(`/uploads/${encodeURIComponent(uploadId)}`, undefined, signal, "DELETE");
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

  async function policy(policyOptions: { signal?: AbortSignal } = {}): Promise<UploadPolicy> {
    const { body } = await call<{ role?: unknown; ownerTypes?: unknown }>("/uploads/policy", undefined, policyOptions.signal ?? new AbortController().signal);
    if (!Array.isArray(body.ownerTypes) || !("role" in body))
      throw new UploadClientError("BAD_RESPONSE", "The policy answer is not the contract's.", { status: 200 });
    return body as UploadPolicy;
  }

  return { presign, signedUrls, policy, signParts, listParts, completeMultipart, cancel };
}

/**
 * A random v4 UUID. `crypto.randomUUID` is missing outside secure contexts and on React Native
 * without a polyfill; `getRandomValues` usually is not. The key only has to be unique per user.
 */
export function newIdempotencyKey(): string {
  const cryptoApi = (globalThis as { crypto?: Partial<Crypto> }).crypto;
  if (typeof cryptoApi?.randomUUID === "function") return cryptoApi.randomUUID();
  const bytes = new Uint8Array(16);
  if (typeof cryptoApi?.getRandomValues === "function") cryptoApi.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function isPresignAnswer(value: unknown): value is PresignAnswer {
  const v = value as Record<string, unknown> | null;
  if (!v || typeof v.uploadId !== "string" || typeof v.key !== "string") return false;
  if (v.mode === "multipart") return Number.isInteger(v.partSize) && (v.partSize as number) > 0 && Number.isInteger(v.partCount) && (v.partCount as number) > 0;
  return typeof v.url === "string" && typeof v.expiresAt === "string" && !!v.headers && typeof v.headers === "object";
}

function isSignedPart(value: unknown): value is SignPartsAnswer["parts"][number] {
  const v = value as Record<string, unknown> | null;
  return !!v && Number.isInteger(v.partNumber) && typeof v.url === "string" && !!v.headers && typeof v.headers === "object";
}

/** A URL's lifetime by the server's clock, placed on ours: a phone's wrong clock does not matter. */
function localDeadline(expiresAt: string, url: string, receivedAt: number, serverNow: number): number {
  const expires = Math.min(Date.parse(expiresAt), signedUrlExpiry(url) ?? Infinity);
  return Number.isFinite(expires) ? receivedAt + (expires - serverNow) : Infinity;
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
