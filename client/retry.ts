/**
 * The client's retries: the one backoff policy it shares with the server SDK
 * (core/src/contract/backoff.ts) with the client's defaults, and waits that end at once when the
 * upload is cancelled or resume when a browser comes back online.
 */
import { type BackoffOptions, type BackoffPolicy, backoffPolicy } from "@fitkit/core/contract/backoff";
import { abortedError } from "./transport.js";

export { backoffDelay, parseRetryAfter, retryDelay } from "@fitkit/core/contract/backoff";

/**
 * Retries after a network error or a transient answer (429, 502, 503, 504), per request:
 * `retries` (default 4), `minDelayMs` (first backoff step, doubling with jitter; default 500 ms),
 * `maxDelayMs` (longest wait, and longest `Retry-After` honoured; default 15 000 ms).
 */
export type RetryOptions = BackoffOptions;

/** `RetryOptions` with every default filled in. */
export type RetryPolicy = BackoffPolicy;

/** A browser or a phone on a bad network waits longer between tries than a service does. */
const CLIENT_BACKOFF: BackoffPolicy = { retries: 4, minDelayMs: 500, maxDelayMs: 15_000 };

export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  return backoffPolicy(options, CLIENT_BACKOFF);
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
