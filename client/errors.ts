/**
 * One error type for everything the upload client can fail with. `code` is one of the API's codes
 * (docs/API.md, "Errors") when the API or storage answered, or a client-side code when nothing
 * usable came back (network down, cancelled, storage refused the PUT).
 */

/** The API's error codes, as in docs/API.md. */
export const API_ERROR_CODES = [
  "INVALID_REQUEST",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "QUOTA_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_CONSUMED",
  "TOKEN_USED",
  "NOT_UPLOADED",
  "EXPIRED",
  "TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "CONTENT_MISMATCH",
  "MALWARE_DETECTED",
  "RATE_LIMITED",
  "DEPENDENCY_UNAVAILABLE",
  "INTERNAL",
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/**
 * Client-side codes:
 * - `NETWORK_ERROR`: no answer (offline, connection reset, DNS, CORS refusal) after every retry.
 * - `ABORTED`: the caller's `AbortSignal` fired; nothing more is sent.
 * - `STORAGE_REJECTED`: storage answered the PUT with an error that a retry cannot fix
 *   (`details[0]` has its `storageCode` and `storageMessage`, e.g. `SignatureDoesNotMatch`).
 * - `BAD_RESPONSE`: the API answered something that is not the contract (e.g. an HTML 502 page).
 */
export type ClientErrorCode = "NETWORK_ERROR" | "ABORTED" | "STORAGE_REJECTED" | "BAD_RESPONSE";
export type UploadClientErrorCode = ApiErrorCode | ClientErrorCode;

export interface UploadClientErrorOptions {
  /** The HTTP status that carried the error; 0 when there was no HTTP answer (or the client refused first). */
  status?: number;
  details?: unknown[];
  cause?: unknown;
}

export class UploadClientError extends Error {
  override readonly name = "UploadClientError";
  readonly code: UploadClientErrorCode;
  /** HTTP status of the answer, or 0 when there was none. */
  readonly status: number;
  /** The API's `details` (e.g. failing files), or the client's own (e.g. `{ index, storageCode }`). */
  readonly details: unknown[] | undefined;

  constructor(code: UploadClientErrorCode, message: string, options: UploadClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? 0;
    this.details = options.details;
  }
}

export const isUploadClientError = (error: unknown): error is UploadClientError => error instanceof UploadClientError;

const isApiErrorCode = (value: unknown): value is ApiErrorCode => typeof value === "string" && (API_ERROR_CODES as readonly string[]).includes(value);

/** The error an API answer carries, from its `{ error: { code, message, details? } }` body. */
export function apiError(status: number, body: unknown): UploadClientError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (error && isApiErrorCode(error.code)) {
    return new UploadClientError(error.code, typeof error.message === "string" ? error.message : error.code, {
      status,
      ...(Array.isArray(error.details) ? { details: error.details } : {}),
    });
  }
  return new UploadClientError("BAD_RESPONSE", `The API answered ${status} without an error body.`, { status });
}
