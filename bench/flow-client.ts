/**
 * One uploader as the client library behaves, for the load test and the chaos suite: presign
 * through `client/`'s API client (one idempotency key, sent again with every retry), the PUT
 * straight to storage (a 412 after an attempt whose answer was lost means "stored"), and the
 * parent service's consume (one idempotency key per batch, retried on 503 and network errors).
 * Every HTTP request's duration is recorded, so a run can check that no request waited longer
 * than the dependency bound.
 */
import { randomUUID } from "node:crypto";
import { createApiClient } from "../client/api-client.js";
import { backoffDelay, type RetryPolicy, retryPolicy } from "../client/retry.js";
import type { LocalStack } from "../support/local-stack.js";
import { mp4Bytes } from "../support/media.js";

export interface RequestRecord {
  kind: "presign" | "put" | "consume" | "signed-urls" | "get";
  ms: number;
  /** HTTP status, or 0 when no answer came (network error or the client's own timeout). */
  status: number;
}

export interface FlowOutcome {
  ok: boolean;
  /** The consumed object, when the flow completed. */
  consumed?: { uploadId: string; key: string; bucket: string; size: number; body: Uint8Array };
  error?: string;
  /** Retries the flow needed (presign, PUT and consume together). */
  retries: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client's patience with one request to storage (the PUT): the browser client's stall bound. */
export const PUT_TIMEOUT_MS = 10_000;

export class FlowClient {
  readonly records: RequestRecord[] = [];
  private readonly retry: RetryPolicy;

  constructor(
    private readonly stack: LocalStack,
    private readonly who: { orgId: string; userId: string; token: string },
    retry: Partial<RetryPolicy> = {},
  ) {
    this.retry = retryPolicy({ retries: 10, minDelayMs: 200, maxDelayMs: 5000, ...retry });
  }

  /** A fetch that records each request's duration and outcome under `kind`. */
  private timed(kind: RequestRecord["kind"]): typeof fetch {
    return async (input, init) => {
      const start = performance.now();
      try {
        const response = await fetch(input, init);
        const body = await response.arrayBuffer();
        this.records.push({ kind, ms: performance.now() - start, status: response.status });
        return new Response(body, { status: response.status, headers: response.headers });
      } catch (error) {
        this.records.push({ kind, ms: performance.now() - start, status: 0 });
        throw error;
      }
    };
  }

  /** A GET of `path` on the API, with no session. */
  async get(path: string): Promise<number> {
    const response = await this.timed("get")(`${this.stack.api}${path}`);
    return response.status;
  }

  async signedUrls(keys: string[]): Promise<number> {
    const response = await this.timed("signed-urls")(`${this.stack.api}/uploads/signed-urls`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.who.token}` },
      body: JSON.stringify({ keys }),
    });
    return response.status;
  }

  async presignOnly(size: number): Promise<number> {
    const response = await this.timed("presign")(`${this.stack.api}/uploads`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.who.token}` },
      body: JSON.stringify({ ownerType: "exercise_comment", files: [{ contentType: "video/mp4", size }] }),
    });
    return response.status;
  }

  /** presign → PUT → consume of one video of `size` bytes, retrying as the client library does. */
  async flow(size: number): Promise<FlowOutcome> {
    let retries = 0;
    const api = createApiClient({
      apiBaseUrl: this.stack.api,
      getToken: () => this.who.token,
      fetch: (input, init) => this.timed("presign")(input, init),
      retry: this.retry,
    });
    // A real MP4 header (consume sniffs the type), then random bytes: every object is unique.
    const body = new Uint8Array(size);
    crypto.getRandomValues(body);
    body.set(mp4Bytes().subarray(0, Math.min(size, 64)));
    let upload: Awaited<ReturnType<typeof api.presign>>[number];
    const recordsBefore = this.records.length;
    try {
      [upload] = (await api.presign("exercise_comment", [{ contentType: "video/mp4", size }], AbortSignal.timeout(120_000))) as [typeof upload];
    } catch (error) {
      return { ok: false, error: `presign: ${(error as Error).message}`, retries };
    }
    retries += this.records.slice(recordsBefore).filter((r) => r.kind === "presign").length - 1;
    if (upload.mode !== "single") return { ok: false, error: "presign: a multipart upload (the flows send files below the threshold)", retries };

    // The PUT: a lost answer makes the next attempt's 412 (If-None-Match) mean the bytes are there.
    let uncertain = false;
    for (let attempt = 1; ; attempt++) {
      let status = 0;
      try {
        status = (await this.timed("put")(upload.url, { method: "PUT", headers: upload.headers, body, signal: AbortSignal.timeout(PUT_TIMEOUT_MS) })).status;
      } catch {
        status = 0;
      }
      if (status === 200 || (status === 412 && uncertain)) break;
      if (status !== 0 && status < 500) return { ok: false, error: `PUT answered ${status}`, retries };
      uncertain = uncertain || status === 0;
      if (attempt > this.retry.retries) return { ok: false, error: "PUT: storage unreachable after every retry", retries };
      retries += 1;
      await sleep(backoffDelay(this.retry, attempt));
    }

    const idempotencyKey = randomUUID();
    for (let attempt = 1; ; attempt++) {
      const start = performance.now();
      let reply: { status: number; body: any } | null = null;
      try {
        reply = await this.stack.internal(
          "consume",
          { uploadIds: [upload.uploadId], ownerType: "exercise_comment", owner: { orgId: this.who.orgId, userId: this.who.userId }, idempotencyKey },
          60_000,
        );
      } catch {
        reply = null;
      }
      this.records.push({ kind: "consume", ms: performance.now() - start, status: reply?.status ?? 0 });
      if (reply?.status === 200) {
        const [linked] = reply.body.uploads as { uploadId: string; key: string; bucket: string; size: number }[];
        return { ok: true, consumed: { ...linked!, body }, retries };
      }
      const transient = reply === null || [429, 502, 503, 504].includes(reply.status);
      if (!transient || attempt > this.retry.retries)
        return { ok: false, error: `consume answered ${reply?.status ?? "nothing"}: ${JSON.stringify(reply?.body)}`, retries };
      retries += 1;
      await sleep(backoffDelay(this.retry, attempt));
    }
  }
}
