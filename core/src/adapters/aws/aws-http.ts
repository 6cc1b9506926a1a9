/**
 * A lean client for AWS-style HTTP APIs (S3/R2, Lambda, SQS): each request signed with SigV4 in
 * its headers (`SigV4HeaderSigner`) and sent with node:http(s) over a keep-alive agent — what the
 * SDK's clients do, without the SDK's middleware stack, serializers and credential chain, which
 * are most of a request-path function's cold start.
 *
 * Waits and retries are the SDK's, as the clients they replace are configured:
 * - `connectionTimeoutMs` bounds connecting; `idleTimeoutMs` bounds every silence after it (waiting
 *   for the response's headers, and any gap in its body) — node-http-handler's `connectionTimeout`
 *   and `requestTimeout`/`socketTimeout` with `throwOnRequestTimeout`. Either ends the attempt with
 *   a `TimeoutError`.
 * - Up to `maxAttempts` attempts. Retried, as the SDK's standard strategy retries: timeouts and
 *   network errors (ECONNRESET, ECONNREFUSED, EPIPE, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH,
 *   ENOTFOUND, EAI_AGAIN), 500/502/503/504, 429 and the throttling error codes; nothing else.
 *   Before a retry it waits a random fraction of min(base × 2^retry, 20 s), base 50 ms, 1 s after
 *   throttling (@smithy/core retry, 2026 defaults).
 *
 * An answer that is not retried (or the last one) is returned whatever its status: the adapters
 * map statuses to the port's outcomes, and read `errorCodeOf` for the service's error code.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { type AwsCredentials, escapeUri, SigV4HeaderSigner } from "./sigv4.js";

export interface AwsHttpOptions {
  /** `https://host[:port]` (a path is not allowed: the request's path is the whole path). */
  endpoint: string;
  credentials: AwsCredentials;
  region: string;
  /** The signing name: `s3`, `lambda`, `sqs`. */
  service: string;
  maxAttempts: number;
  /** Unbounded when absent (the SDK's default). */
  connectionTimeoutMs?: number;
  /** Unbounded when absent (the SDK's default). */
  idleTimeoutMs?: number;
}

export interface AwsRequest {
  method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  /** As sent: already percent-encoded. */
  path: string;
  /** Names and values not encoded. */
  query?: Record<string, string>;
  /** Lower-case names. */
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /**
   * S3 answers some calls that fail late with 200 and an `<Error>` document (CopyObject,
   * DeleteObjects): read the body of a 2xx answer, and take one ending in `</Error>` — or, with
   * "or-empty", an empty one — as a 503, retried like one (the SDK's throw200Exceptions step).
   */
  errorIn2xx?: "error-document" | "error-document-or-empty";
}

/** A service's error answer, by its code and HTTP status (what the clients on this one throw when a call is refused). */
export class AwsServiceError extends Error {
  constructor(
    /** The service's error code (`NoSuchKey`, `TooManyRequestsException`) or the HTTP status. */
    name: string,
    readonly status: number,
  ) {
    super(`${name} (HTTP ${status})`);
    this.name = name;
  }
}

const THROTTLING_CODES = new Set([
  "BandwidthLimitExceeded",
  "EC2ThrottledException",
  "LimitExceededException",
  "PriorRequestNotComplete",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "ThrottledException",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "TransactionInProgressException",
]);
const TRANSIENT_CODES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException"]);
const TRANSIENT_STATUSES = new Set([500, 502, 503, 504]);
const NETWORK_ERROR_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);
const MAX_RETRY_DELAY_MS = 20_000;
const RETRY_DELAY_BASE_MS = 50;
const THROTTLING_RETRY_DELAY_BASE_MS = 1000;

/** A response with its body still unread (a Node stream, async-iterable), and the text read on demand. */
export interface AwsResponse {
  status: number;
  headers: IncomingMessage["headers"];
  body: IncomingMessage;
  /** The whole body as text (for XML/JSON answers). */
  text(): Promise<string>;
  /** The whole body. */
  bytes(): Promise<Uint8Array>;
  /** Discards the body (frees the connection). */
  discard(): void;
}

export class AwsHttpClient {
  readonly #options: AwsHttpOptions;
  readonly #signer: SigV4HeaderSigner;
  readonly #url: URL;
  readonly #send: typeof httpRequest;
  readonly #agent: HttpAgent;

  constructor(options: AwsHttpOptions) {
    const url = new URL(options.endpoint);
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.pathname !== "/" || url.search || url.username) {
      throw new RangeError(`An AWS endpoint is scheme://host[:port] only: ${JSON.stringify(options.endpoint)}`);
    }
    if (!(Number.isInteger(options.maxAttempts) && options.maxAttempts >= 1)) throw new RangeError("maxAttempts must be a whole number ≥ 1");
    this.#options = options;
    this.#url = url;
    this.#signer = new SigV4HeaderSigner(options);
    this.#send = url.protocol === "https:" ? httpsRequest : httpRequest;
    // Keep-alive, 50 sockets: node-http-handler's agent.
    this.#agent = url.protocol === "https:" ? new HttpsAgent({ keepAlive: true, maxSockets: 50 }) : new HttpAgent({ keepAlive: true, maxSockets: 50 });
  }

  /** Sends the request, retrying what the SDK retries; throws only when no attempt got an answer. */
  async send(request: AwsRequest): Promise<AwsResponse> {
    for (let retry = 0; ; retry++) {
      const last = retry + 1 >= this.#options.maxAttempts;
      let response: AwsResponse;
      try {
        response = await this.#attempt(request);
        if (request.errorIn2xx && response.status >= 200 && response.status < 300) {
          const body = await response.text();
          const failed = body.endsWith("</Error>") || (request.errorIn2xx === "error-document-or-empty" && body === "");
          response = buffered(response, body, failed ? 503 : response.status);
        }
      } catch (error) {
        if (last || !isTransient(error)) throw error;
        await sleep(backoff(RETRY_DELAY_BASE_MS, retry));
        continue;
      }
      if (last) return response;
      let code = errorCodeFromHeaders(response);
      // A 4xx answer names its code in the body (throttling and timeouts by code are retried too); a HEAD's has none.
      if (!code && response.status >= 400 && response.status < 500 && response.status !== 429 && request.method !== "HEAD") {
        const body = await response.text();
        code = errorCodeOf(response, body);
        response = buffered(response, body, response.status);
      }
      const throttled = response.status === 429 || THROTTLING_CODES.has(code ?? "");
      if (!throttled && !TRANSIENT_STATUSES.has(response.status) && !TRANSIENT_CODES.has(code ?? "")) return response;
      response.discard();
      await sleep(backoff(throttled ? THROTTLING_RETRY_DELAY_BASE_MS : RETRY_DELAY_BASE_MS, retry));
    }
  }

  #attempt(request: AwsRequest): Promise<AwsResponse> {
    const query = request.query ?? {};
    const search = Object.entries(query)
      .map(([name, value]) => `${escapeUri(name)}=${escapeUri(value)}`)
      .join("&");
    const headers = this.#signer.sign({
      method: request.method,
      path: request.path,
      query,
      headers: { ...request.headers, host: this.#url.host },
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    if (request.body !== undefined) headers["content-length"] = String(Buffer.byteLength(request.body));
    const { connectionTimeoutMs, idleTimeoutMs } = this.#options;
    return new Promise((resolve, reject) => {
      const req = this.#send(
        {
          protocol: this.#url.protocol,
          hostname: this.#url.hostname,
          port: this.#url.port,
          method: request.method,
          path: search ? `${request.path}?${search}` : request.path,
          headers,
          agent: this.#agent,
        },
        (res) => resolve(responseOf(res)),
      );
      req.on("error", reject);
      if (connectionTimeoutMs !== undefined) {
        req.on("socket", (socket) => {
          if (!socket.connecting) return;
          const timer = setTimeout(() => req.destroy(timeoutError(`no connection within ${connectionTimeoutMs} ms`)), connectionTimeoutMs);
          socket.once("connect", () => clearTimeout(timer));
          socket.once("close", () => clearTimeout(timer));
        });
      }
      // The socket's idle timer runs while the request waits for headers and while its body is read.
      if (idleTimeoutMs !== undefined) req.setTimeout(idleTimeoutMs, () => req.destroy(timeoutError(`no data for ${idleTimeoutMs} ms`)));
      req.end(request.body);
    });
  }
}

function responseOf(res: IncomingMessage): AwsResponse {
  const bytes = async (): Promise<Uint8Array> => {
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return new Uint8Array(Buffer.concat(chunks));
  };
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    body: res,
    bytes,
    text: async () => Buffer.from(await bytes()).toString("utf8"),
    discard: () => {
      res.resume();
    },
  };
}

/** The answer with its body already read (and, for an error document in a 2xx, its status changed). */
function buffered(response: AwsResponse, body: string, status: number): AwsResponse {
  return { ...response, status, text: async () => body, bytes: async () => new Uint8Array(Buffer.from(body)), discard: () => undefined };
}

/** The error code of an answer: from its headers (JSON services), else `<Code>` (XML), `__type` or `code` (JSON), else the status. */
export function errorCodeOf(response: Pick<AwsResponse, "status" | "headers">, body: string): string {
  const fromHeader = errorCodeFromHeaders(response);
  if (fromHeader) return fromHeader;
  const xml = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  if (xml) return xml;
  try {
    const json = JSON.parse(body) as { __type?: unknown; code?: unknown };
    const type = typeof json.__type === "string" ? json.__type : typeof json.code === "string" ? json.code : undefined;
    // `com.amazonaws.sqs#QueueDoesNotExist`, `Namespace:Code`: the code is the last part.
    if (type) return type.split("#").pop()!.split(":")[0]!;
  } catch {
    // not JSON
  }
  return String(response.status);
}

/** SQS's query-compatible code (`x-amzn-query-error: AWS.SimpleQueueService.QueueDoesNotExist;Sender`), else `x-amzn-errortype`: what the SDK names its errors by. */
function errorCodeFromHeaders(response: Pick<AwsResponse, "headers">): string | undefined {
  const query = response.headers["x-amzn-query-error"];
  if (typeof query === "string" && query) return query.split(";")[0];
  const header = response.headers["x-amzn-errortype"];
  return typeof header === "string" && header ? header.split(":")[0] : undefined;
}

function isTransient(error: unknown): boolean {
  const e = error as { name?: string; code?: string } | undefined;
  return TRANSIENT_CODES.has(e?.name ?? "") || NETWORK_ERROR_CODES.has(e?.code ?? "");
}

function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { name: "TimeoutError" });
}

const backoff = (base: number, retry: number): number => Math.floor(Math.random() * Math.min(base * 2 ** retry, MAX_RETRY_DELAY_MS));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
