/**
 * `Scanner` adapter for the scanner Lambda (`scanner/`: clamd in a container image), called with
 * a synchronous Lambda Invoke (protocol in `scanner-protocol.ts`).
 *
 * Stored content (`stored` given, e.g. consume) is not streamed through this process: the caller
 * signs a short-lived GET URL with its own token for that bucket and the scanner reads the bytes
 * from storage, so the scanner holds no storage token at all (a file that compromised the scanner
 * would find no credential there). Content that is not stored yet (the public signature upload)
 * travels inline, up to MAX_INLINE_SCAN_BYTES.
 *
 * At most `maxConcurrentScans` invokes are in flight from one client (one per container, and a
 * Lambda container runs one invocation at a time): the scanner's reserved concurrency is sized
 * against it (stacks/test/concurrency.test.ts), so one consume of 100 uploads queues its scans
 * here instead of being throttled by the scanner. A waiting scan holds no storage stream: the
 * caller's stream is released before the wait.
 *
 * Fails closed: a throttled or failed invoke, a function error (timeout, crash), an `error` verdict
 * or a reply of another shape is DependencyUnavailableError("scanner") with a `LambdaScannerError`
 * cause (our message, safe to log). Errors thrown by the source propagate unchanged.
 */
import { DependencyUnavailableError } from "../../errors.js";
import type { Scanner, ScanVerdict, StoredScanSource } from "../../scanning/scanner.js";
import type { UrlSigner } from "../../storage/url-signer.js";
import type { FunctionInvoker } from "./lambda-http-invoker.js";
import { MAX_INLINE_SCAN_BYTES, type ScanRequest, scanReplySchema } from "./scanner-protocol.js";

export interface LambdaScannerOptions {
  /** Lambda's Invoke (`LambdaHttpInvoker`). */
  lambda: FunctionInvoker;
  /** The scanner function's name or ARN. */
  functionName: string;
  /** The signer whose token may read `bucket` (GET URLs for the scanner). */
  signerFor: (bucket: string) => UrlSigner;
  /** Lifetime of those URLs; default 300 s — enough for a cold scanner to load its definitions. */
  urlTtlSeconds?: number;
  /** Invokes in flight at once from this scanner; more wait their turn. Unbounded when absent. */
  maxConcurrentScans?: number;
}

const DEFAULT_URL_TTL_SECONDS = 300;

/** Why the scanner Lambda gave no verdict. The `cause` of DependencyUnavailableError("scanner"). */
export class LambdaScannerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LambdaScannerError";
  }
}

export class LambdaScanner implements Scanner {
  readonly #options: LambdaScannerOptions;
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(options: LambdaScannerOptions) {
    if (options.maxConcurrentScans !== undefined && !(Number.isInteger(options.maxConcurrentScans) && options.maxConcurrentScans >= 1)) {
      throw new RangeError("maxConcurrentScans must be a whole number ≥ 1");
    }
    this.#options = options;
  }

  async scan(source: AsyncIterable<Uint8Array>, stored?: StoredScanSource): Promise<ScanVerdict> {
    const request = stored ? await this.#byUrl(source, stored) : await inline(source);
    await this.#turn();
    try {
      return await this.#invoke(request);
    } finally {
      this.#done();
    }
  }

  /** Waits until fewer than maxConcurrentScans invokes are in flight, then counts this one. */
  async #turn(): Promise<void> {
    const limit = this.#options.maxConcurrentScans ?? Number.POSITIVE_INFINITY;
    while (this.#inFlight >= limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#inFlight += 1;
  }

  #done(): void {
    this.#inFlight -= 1;
    this.#waiting.shift()?.();
  }

  async #byUrl(source: AsyncIterable<Uint8Array>, stored: StoredScanSource): Promise<ScanRequest> {
    // The scanner reads storage itself: release the caller's stream. A generator that never
    // started ignores return(), so step in once first — its `for await` then closes the response
    // body (and its connection) instead of leaving it open.
    const iterator = source[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (!first.done) await iterator.return?.();
    const url = await this.#options.signerFor(stored.bucket).presignGet({
      bucket: stored.bucket,
      key: stored.key,
      expiresInSeconds: this.#options.urlTtlSeconds ?? DEFAULT_URL_TTL_SECONDS,
    });
    return { url, maxBytes: stored.maxBytes };
  }

  async #invoke(request: ScanRequest): Promise<ScanVerdict> {
    let payload: Uint8Array | undefined;
    try {
      const out = await this.#options.lambda.invoke(this.#options.functionName, JSON.stringify(request));
      if (out.functionError) throw new LambdaScannerError(`the scanner function failed (${out.functionError})`);
      payload = out.payload;
    } catch (error) {
      const cause = error instanceof LambdaScannerError ? error : new LambdaScannerError(`could not invoke the scanner: ${describe(error)}`, { cause: error });
      throw new DependencyUnavailableError("scanner", { cause });
    }
    const reply = scanReplySchema.safeParse(parseJson(payload));
    if (!reply.success) throw new DependencyUnavailableError("scanner", { cause: new LambdaScannerError("the scanner sent a reply of another shape") });
    if (reply.data.verdict === "clean") return { clean: true };
    if (reply.data.verdict === "infected") return { clean: false, signature: reply.data.signature };
    throw new DependencyUnavailableError("scanner", { cause: new LambdaScannerError(`the scanner gave no verdict: ${reply.data.reason}`) });
  }
}

/** The whole source, base64, refusing more than an invoke can carry. Source errors propagate. */
async function inline(source: AsyncIterable<Uint8Array>): Promise<ScanRequest> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (size > MAX_INLINE_SCAN_BYTES) {
      throw new DependencyUnavailableError("scanner", {
        cause: new LambdaScannerError(`content not in storage is sent inline, at most ${MAX_INLINE_SCAN_BYTES} bytes`),
      });
    }
    chunks.push(chunk);
  }
  return { bytesBase64: Buffer.concat(chunks).toString("base64") };
}

function parseJson(payload: Uint8Array | undefined): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return undefined;
  }
}

/** The error's name (Lambda's code, e.g. TooManyRequestsException, or TimeoutError), never a message that could echo input. */
function describe(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
