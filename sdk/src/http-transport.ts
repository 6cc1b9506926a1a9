/**
 * The local stack's transport: `POST /internal/<operation>` with the `x-internal-key` header
 * (docs/API.md, "The local stack"). The reply body is the same JSON a Lambda invoke returns.
 */
import { parseRetryAfter } from "@fitkit/core/contract/backoff";
import { UploadsApiError } from "./errors.js";
import type { UploadsOperation } from "./operations.js";
import { type UploadsTransport, unavailable } from "./transport.js";

export interface HttpTransportOptions {
  /** The local stack's origin, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** The stack's INTERNAL_API_KEY. */
  internalKey: string;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
}

/** Gateway answers without a JSON body: the stack (or a proxy before it) is not there right now. */
const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

export function httpTransport(options: HttpTransportOptions): UploadsTransport {
  const base = options.baseUrl.replace(/\/+$/, "");
  const fetchFn = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));

  return {
    async invoke(operation: UploadsOperation, payload: unknown): Promise<unknown> {
      let response: Response;
      let text: string;
      try {
        response = await fetchFn(`${base}/internal/${operation}`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-internal-key": options.internalKey },
          body: JSON.stringify(payload),
        });
        text = await response.text();
      } catch (error) {
        throw unavailable(operation, "network error", error);
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        if (UNAVAILABLE_STATUSES.has(response.status))
          throw unavailable(operation, `HTTP ${response.status}`, undefined, parseRetryAfter(response.headers.get("retry-after")));
        throw new UploadsApiError("INTERNAL", `${operation} answered HTTP ${response.status} without a JSON body.`, { operation });
      }
    },
  };
}
