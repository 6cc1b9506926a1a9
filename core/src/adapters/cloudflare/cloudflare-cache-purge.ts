/**
 * `EdgeCache` adapter for Cloudflare's cache: purge by URL through the API
 * (https://developers.cloudflare.com/cache/how-to/purge-cache/purge-by-single-file/):
 *
 *   POST {api}/zones/{zone_id}/purge_cache
 *   Authorization: Bearer <API token with the zone's Cache Purge permission>
 *   Content-Type: application/json
 *   {"files": ["https://media.example.com/o/…/640.webp", …]}
 *
 * answered with Cloudflare's v4 envelope, `{"success": true, "errors": [], "messages": [],
 * "result": {"id": "…"}}`, or `success: false` with `errors: [{code, message}]`. A request carries at
 * most 100 URLs (the limit of every plan below Enterprise, "Max operations per request",
 * https://developers.cloudflare.com/cache/how-to/purge-cache/), so longer lists go in several.
 *
 * Every request is bounded by `timeoutMs`; a refusal (4xx/5xx, `success: false`, a 429 rate limit),
 * a timeout or an unreadable answer is DependencyUnavailableError("cdn") with a `CloudflareApiError`
 * cause (our message plus Cloudflare's error codes and messages — never the token).
 */
import { DependencyUnavailableError } from "../../errors.js";
import type { EdgeCache } from "../../publishing/edge-cache.js";

export interface CloudflareCachePurgeOptions {
  /** The zone of the public media domain (32 hex digits). */
  zoneId: string;
  /** An API token allowed Cache Purge on that zone (and nothing else). */
  apiToken: string;
  /** Bound on each API request, connect included. */
  timeoutMs: number;
  /** Cloudflare's API root; tests point it at a local server. */
  apiBaseUrl?: string;
}

export const CLOUDFLARE_API_BASE_URL = "https://api.cloudflare.com/client/v4";
/** URLs per purge request (Free, Pro and Business plans; Enterprise allows 500). */
export const MAX_URLS_PER_PURGE = 100;

/** Why Cloudflare did not confirm a purge. The `cause` of DependencyUnavailableError("cdn"). */
export class CloudflareApiError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CloudflareApiError";
  }
}

interface Envelope {
  success?: unknown;
  errors?: unknown;
}

export class CloudflareCachePurge implements EdgeCache {
  readonly #endpoint: string;
  readonly #apiToken: string;
  readonly #timeoutMs: number;

  constructor(options: CloudflareCachePurgeOptions) {
    if (!/^[0-9a-f]{32}$/.test(options.zoneId)) throw new Error(`zoneId "${options.zoneId}" is not a Cloudflare zone id (32 hex digits)`);
    this.#endpoint = `${(options.apiBaseUrl ?? CLOUDFLARE_API_BASE_URL).replace(/\/$/, "")}/zones/${options.zoneId}/purge_cache`;
    this.#apiToken = options.apiToken;
    this.#timeoutMs = options.timeoutMs;
  }

  async purge(urls: readonly string[]): Promise<void> {
    const unique = [...new Set(urls)];
    for (let start = 0; start < unique.length; start += MAX_URLS_PER_PURGE) {
      await this.#purgeBatch(unique.slice(start, start + MAX_URLS_PER_PURGE));
    }
  }

  async #purgeBatch(files: string[]): Promise<void> {
    let response: Response;
    let body: Envelope | undefined;
    try {
      response = await fetch(this.#endpoint, {
        method: "POST",
        headers: { authorization: `Bearer ${this.#apiToken}`, "content-type": "application/json" },
        body: JSON.stringify({ files }),
        redirect: "error",
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      body = (await response.json().catch(() => undefined)) as Envelope | undefined;
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      const message = timedOut
        ? `Cloudflare did not answer the cache purge within ${this.#timeoutMs} ms`
        : `could not reach Cloudflare's API: ${describe(error)}`;
      throw new DependencyUnavailableError("cdn", { cause: new CloudflareApiError(message, { cause: error }) });
    }
    if (response.ok && body?.success === true) return;
    const retryAfter = response.headers.get("retry-after");
    const reasons = errorsOf(body);
    const message = [
      `Cloudflare refused the cache purge (HTTP ${response.status}${response.status === 429 ? ", rate-limited" : ""}${retryAfter ? `, retry after ${retryAfter} s` : ""})`,
      reasons,
    ]
      .filter(Boolean)
      .join(": ");
    throw new DependencyUnavailableError("cdn", { cause: new CloudflareApiError(message) });
  }
}

/** Cloudflare's `errors: [{code, message}]` as text, bounded. */
function errorsOf(body: Envelope | undefined): string {
  if (!Array.isArray(body?.errors)) return body === undefined ? "the answer was not JSON" : "";
  return body.errors
    .slice(0, 5)
    .map((error: { code?: unknown; message?: unknown }) => `${String(error?.code ?? "?")} ${String(error?.message ?? "").slice(0, 200)}`.trim())
    .join("; ");
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause;
  return cause?.code ?? (error instanceof Error ? error.message : String(error));
}
