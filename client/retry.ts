/**
 * Backoff shared by the API calls and the PUTs: jittered exponential delays, and waits that end at
 * once when the upload is cancelled.
 */
import { abortedError } from "./transport.js";

export interface RetryOptions {
  /** Retries after a network error or a transient answer (429, 502, 503, 504), per request. Default 4. */
  retries?: number;
  /** First backoff delay; doubles each retry, with jitter. Default 500 ms. */
  minDelayMs?: number;
  /** Longest backoff delay (and longest `Retry-After` honoured). Default 15 000 ms. */
  maxDelayMs?: number;
}

/** `RetryOptions` with every default filled in. */
export type RetryPolicy = Required<RetryOptions>;

export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  return { retries: options.retries ?? 4, minDelayMs: options.minDelayMs ?? 500, maxDelayMs: options.maxDelayMs ?? 15_000 };
}

/** The wait before retry number `attempt` (1-based): between half and all of min·2^(attempt−1), capped. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Resolves after `ms`, or rejects with `ABORTED` as soon as the signal fires. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
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

/**
 * When the runtime says it is offline (`navigator.onLine === false`: a browser or React Native
 * that lost its network), waits for the `online` event and resolves true; resolves false at once
 * otherwise. A wait for the network is not a failed attempt: a long upload outlives a tunnel.
 * Rejects with `ABORTED` as soon as the signal fires.
 */
export function waitUntilOnline(signal: AbortSignal): Promise<boolean> {
  const g = globalThis as { navigator?: { onLine?: boolean }; addEventListener?: typeof addEventListener; removeEventListener?: typeof removeEventListener };
  if (g.navigator?.onLine !== false || typeof g.addEventListener !== "function") return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortedError());
    const done = () => {
      g.removeEventListener?.("online", onOnline);
      signal.removeEventListener("abort", onAbort);
    };
    const onOnline = () => {
      done();
      resolve(true);
    };
    const onAbort = () => {
      done();
      reject(abortedError());
    };
    g.addEventListener!("online", onOnline);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
