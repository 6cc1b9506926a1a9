/**
 * One error model for every route and internal operation (docs/API.md, "Errors").
 * Domain code throws a subclass of `UploadError`; one mapper turns it into
 * `{ error: { code, message, details? } }` with the status from `HTTP_STATUS_BY_CODE`.
 */
import * as z from "zod";
import { ERROR_CODES, type ErrorCode, HTTP_STATUS_BY_CODE } from "./contract/catalog.js";

// The code → status table is shared with the upload client, so it lives in the dependency-free catalog.
export { type ErrorCode, HTTP_STATUS_BY_CODE } from "./contract/catalog.js";

/** The error body with `code` limited to `codes` (the API document states, per reply status, which codes it carries). */
export function errorBodySchemaFor<const C extends readonly [ErrorCode, ...ErrorCode[]]>(codes: C) {
  return z.object({
    error: z.object({
      code: z.enum(codes),
      message: z.string(),
      /** What failed, e.g. the schema issues of a 400 or each failing file or upload of a batch. */
      details: z.array(z.unknown()).optional(),
    }),
  });
}

/** Every error reply of every route and internal operation; documented, never parsed at run time. */
export const errorBodySchema = errorBodySchemaFor(ERROR_CODES as readonly ErrorCode[] as [ErrorCode, ...ErrorCode[]]);
export type ErrorBody = z.output<typeof errorBodySchema>;

export abstract class UploadError extends Error {
  abstract readonly code: ErrorCode;
  readonly details?: unknown[];

  constructor(message: string, details?: unknown[], options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    if (details !== undefined) this.details = details;
  }

  get status(): number {
    return HTTP_STATUS_BY_CODE[this.code];
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details !== undefined ? { details: this.details } : {}),
      },
    };
  }
}

export class InvalidRequestError extends UploadError {
  readonly code = "INVALID_REQUEST";
}
export class UnauthenticatedError extends UploadError {
  readonly code = "UNAUTHENTICATED";
}
export class ForbiddenError extends UploadError {
  readonly code = "FORBIDDEN";
}
export class QuotaExceededError extends UploadError {
  readonly code = "QUOTA_EXCEEDED";
}
export class NotFoundError extends UploadError {
  readonly code = "NOT_FOUND";
}
export class AlreadyConsumedError extends UploadError {
  readonly code = "ALREADY_CONSUMED";
}
export class TokenUsedError extends UploadError {
  readonly code = "TOKEN_USED";
}
export class NotUploadedError extends UploadError {
  readonly code = "NOT_UPLOADED";
}
/** A linked image asked for something that needs its processed copies (publish) before they exist: ask again once its status is ready. */
export class StillProcessingError extends UploadError {
  readonly code = "STILL_PROCESSING";
}
/** The user's (or the whole organisation's) uploads are being erased: nothing new is staged or linked until it ends. */
export class ErasureInProgressError extends UploadError {
  readonly code = "ERASURE_IN_PROGRESS";
}
/** The one refusal presign, the signature routes and consume give while an erasure runs. */
export function erasureInProgress(): ErasureInProgressError {
  return new ErasureInProgressError("This member's (or organisation's) uploads are being erased; nothing new can be uploaded or linked until it ends.");
}
export class ExpiredError extends UploadError {
  readonly code = "EXPIRED";
}
export class TooLargeError extends UploadError {
  readonly code = "TOO_LARGE";
}
export class UnsupportedMediaTypeError extends UploadError {
  readonly code = "UNSUPPORTED_MEDIA_TYPE";
}
export class ContentMismatchError extends UploadError {
  readonly code = "CONTENT_MISMATCH";
}
export class MalwareDetectedError extends UploadError {
  readonly code = "MALWARE_DETECTED";
}
export class RateLimitedError extends UploadError {
  readonly code = "RATE_LIMITED";
  constructor(
    message: string,
    /** Seconds until a request would be allowed again (the `Retry-After` header). */
    readonly retryAfterSeconds: number,
  ) {
    super(message, [{ retryAfterSeconds }]);
  }
}
/**
 * A dependency failed or did not answer in time. The outcome is unknown (a write may have landed
 * before its reply was lost), so the caller retries the same request — with the same idempotency
 * key, which makes a retry of a consume that did land answer the stored reply.
 */
export class DependencyUnavailableError extends UploadError {
  readonly code = "DEPENDENCY_UNAVAILABLE";
  constructor(
    /** Which dependency failed: "redis", "storage", "scanner", or "time" (the function ran out of time). Never an upstream error text. */
    readonly dependency: string,
    options?: { cause?: unknown },
  ) {
    super(
      dependency === "time"
        ? "The request ran out of time waiting for a dependency. The outcome is unknown: retry the same request (with the same idempotency key)."
        : `A dependency (${dependency}) is unavailable or did not answer in time. The outcome is unknown: retry the same request (with the same idempotency key).`,
      undefined,
      options,
    );
  }
}
export class InternalError extends UploadError {
  readonly code = "INTERNAL";
  constructor(options?: { cause?: unknown }) {
    super("Internal error.", undefined, options);
  }
}

/** Maps anything thrown to an `UploadError`; unknown errors become a generic INTERNAL. */
export function toUploadError(error: unknown): UploadError {
  return error instanceof UploadError ? error : new InternalError({ cause: error });
}

type PlainErrorCode = Exclude<ErrorCode, "RATE_LIMITED" | "DEPENDENCY_UNAVAILABLE" | "INTERNAL">;

const ERROR_CLASS_BY_CODE: Record<PlainErrorCode, new (message: string, details?: unknown[]) => UploadError> = {
  INVALID_REQUEST: InvalidRequestError,
  UNAUTHENTICATED: UnauthenticatedError,
  FORBIDDEN: ForbiddenError,
  QUOTA_EXCEEDED: QuotaExceededError,
  NOT_FOUND: NotFoundError,
  ALREADY_CONSUMED: AlreadyConsumedError,
  TOKEN_USED: TokenUsedError,
  NOT_UPLOADED: NotUploadedError,
  STILL_PROCESSING: StillProcessingError,
  ERASURE_IN_PROGRESS: ErasureInProgressError,
  EXPIRED: ExpiredError,
  TOO_LARGE: TooLargeError,
  UNSUPPORTED_MEDIA_TYPE: UnsupportedMediaTypeError,
  CONTENT_MISMATCH: ContentMismatchError,
  MALWARE_DETECTED: MalwareDetectedError,
};

/** The typed error for a code chosen at run time (batch checks that collect several failures). */
export function errorForCode(code: PlainErrorCode, message: string, details?: unknown[]): UploadError {
  return new ERROR_CLASS_BY_CODE[code](message, details);
}
