/**
 * How the functions call the scanner Lambda (functions/lib/deps/scanner.ts). Plain data, so the
 * infrastructure checks (stacks/test/concurrency.test.ts) can hold it against the scanner's
 * timeout and reservation and consume's timeout:
 * - one attempt waits a cold scanner out (its timeout, stacks/scanner.ts), so a slow but
 *   successful scan is not abandoned and repeated;
 * - all attempts together, with the SDK's backoff between them (which the lean invoker,
 *   core/src/adapters/aws/aws-http.ts, copies), end before consume's own timeout,
 *   so consume answers (503) instead of being killed;
 * - per consume at most `maxConcurrentScans` scans run at once, and the scanner reserves enough
 *   executions for every consume and public signature function scanning at once.
 */
export const SCAN_CLIENT = {
  /** One retry: a throttle or a dropped connection; then fail closed (503). */
  maxAttempts: 2,
  connectionTimeoutMs: 2000,
  /** The scanner's 90-second timeout and its reply's way back. */
  requestTimeoutMs: 95_000,
  /** Scans in flight from one container (one consume) at once. */
  maxConcurrentScans: 3,
} as const;

/** The SDK's standard retry strategy, and the lean client that copies it, wait at most this long before a retry (MAXIMUM_RETRY_DELAY in @smithy/core, submodules/retry/util-retry/constants). */
export const SDK_MAX_RETRY_DELAY_MS = 20_000;
