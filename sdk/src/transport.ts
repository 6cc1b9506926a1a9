/** How the SDK reaches the operations: Lambda invoke when deployed, HTTP on the local stack. */
import { UploadsApiError } from "./errors.js";
import type { UploadsOperation } from "./operations.js";

export interface UploadsTransport {
  /**
   * Sends one operation's JSON payload and resolves with the operation's JSON reply — its result
   * or its `{ error }` body, both as the handler returned them. Throws an `UploadsApiError` only
   * when no reply came: `DEPENDENCY_UNAVAILABLE` when trying again may work (throttled, network),
   * `INTERNAL` when it will not (the function crashed, a misconfiguration).
   */
  invoke(operation: UploadsOperation, payload: unknown): Promise<unknown>;
}

/** A failure to reach the operation that a retry may cure. */
export function unavailable(operation: UploadsOperation, reason: string, cause?: unknown, retryAfterMs?: number): UploadsApiError {
  return new UploadsApiError("DEPENDENCY_UNAVAILABLE", `${operation} could not be reached or did not answer (${reason}). The same call may be sent again.`, {
    operation,
    details: [{ reason }],
    cause,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}
