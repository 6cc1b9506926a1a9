/**
 * The SDK's one error type. Every failure of a call — an `{ error }` the operation answered, a
 * Lambda crash, throttling, a network failure — is an `UploadsApiError` with the API's `code`, the
 * `status` the API's table gives that code, and `details` when there are any.
 */
import { ERROR_CODES, type ErrorCode, HTTP_STATUS_BY_CODE } from "@fitkit/core/contract/catalog";
import type { UploadsOperation } from "./operations.js";

export type { ErrorCode };

export interface UploadsApiErrorOptions {
  details?: unknown[];
  /** The operation that failed, when known. */
  operation?: UploadsOperation;
  /** How long the server asked to wait before the same call (its `Retry-After`), when it said. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class UploadsApiError extends Error {
  override readonly name = "UploadsApiError";
  readonly code: ErrorCode;
  /** The HTTP status of `code` in the API's error table (Lambda invoke itself has none). */
  readonly status: number;
  readonly details: unknown[] | undefined;
  readonly operation: UploadsOperation | undefined;
  /** How long to wait before sending the same call again, when the server said (`Retry-After`, or `details[].retryAfterSeconds`). */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: UploadsApiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = HTTP_STATUS_BY_CODE[code];
    this.details = options.details;
    this.operation = options.operation;
    const fromDetails = options.details?.find(
      (detail): detail is { retryAfterSeconds: number } => typeof (detail as { retryAfterSeconds?: unknown })?.retryAfterSeconds === "number",
    );
    this.retryAfterMs = options.retryAfterMs ?? (fromDetails ? fromDetails.retryAfterSeconds * 1000 : undefined);
  }

  /** Only a `DEPENDENCY_UNAVAILABLE` (nothing was changed) is worth the same call again. */
  get retryable(): boolean {
    return this.code === "DEPENDENCY_UNAVAILABLE";
  }
}

export const isUploadsApiError = (error: unknown): error is UploadsApiError => error instanceof UploadsApiError;

const isErrorCode = (value: unknown): value is ErrorCode => typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);

/**
 * The error an operation's reply carries (`{ error: { code, message, details? } }`), or null when
 * the reply is a result. A reply that is neither is not the contract: INTERNAL.
 */
export function errorOfReply(operation: UploadsOperation, reply: unknown): UploadsApiError | null {
  if (reply === null || typeof reply !== "object" || Array.isArray(reply)) {
    return new UploadsApiError("INTERNAL", `${operation} answered something that is not a JSON object.`, { operation });
  }
  if (!("error" in reply)) return null;
  const error = (reply as { error?: { code?: unknown; message?: unknown; details?: unknown } }).error;
  if (!error || !isErrorCode(error.code)) {
    return new UploadsApiError("INTERNAL", `${operation} answered an error without a known code.`, { operation });
  }
  return new UploadsApiError(error.code, typeof error.message === "string" ? error.message : error.code, {
    operation,
    ...(Array.isArray(error.details) ? { details: error.details } : {}),
  });
}
