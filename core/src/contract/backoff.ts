/**
 * The one backoff policy of the upload client (client/) and the server SDK (sdk/): how many times
 * a call is sent again, how long to wait before each retry, and how a server's `Retry-After` is
 * honoured. Plain code with no imports, like the catalog: both packages bundle it.
 *
 * Invariants: a retry never comes sooner than the server asked (`Retry-After`); no wait is longer
 * than `maxDelayMs` — a server that asks for more gets its error answered at once instead of a
 * caller left hanging; waits are jittered (between half and all of the exponential step), so
 * callers that failed together do not come back together.
 */

export interface BackoffOptions {
  /** Retries after the first attempt. */
  retries?: number;
  /** The first backoff step; doubles each retry (with jitter). */
  minDelayMs?: number;
  /** The longest wait, backoff or `Retry-After`. */
  maxDelayMs?: number;
}

/** `BackoffOptions` with every value filled in. */
export type BackoffPolicy = Required<BackoffOptions>;

/** `options` over `defaults` (each caller's own: a browser waits longer than a service). */
export function backoffPolicy(options: BackoffOptions | undefined, defaults: BackoffPolicy): BackoffPolicy {
  return {
    retries: Math.max(0, options?.retries ?? defaults.retries),
    minDelayMs: Math.max(0, options?.minDelayMs ?? defaults.minDelayMs),
    maxDelayMs: Math.max(0, options?.maxDelayMs ?? defaults.maxDelayMs),
  };
}

/** The wait before retry number `attempt` (1-based): between half and all of min·2^(attempt−1), capped at max. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

/**
 * A `Retry-After` header in milliseconds: delta-seconds (fractions accepted) or an HTTP date
 * (measured from `now`); undefined when absent or unreadable.
 */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (header === null || header === undefined || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/**
 * How long to wait before retry number `attempt` (1-based) of a call that failed in a retryable
 * way, or `undefined` when it must not be retried: the retries are spent, or the server asked for
 * a longer wait than `maxDelayMs`. `retryAfterMs` (the server's `Retry-After`) replaces the backoff.
 */
export function retryDelay(policy: BackoffPolicy, attempt: number, retryAfterMs?: number): number | undefined {
  if (attempt > policy.retries) return undefined;
  if (retryAfterMs !== undefined) return retryAfterMs <= policy.maxDelayMs ? retryAfterMs : undefined;
  return backoffDelay(policy, attempt);
}
