/**
 * One backoff policy for the upload client and the server SDK (core/src/contract/backoff.ts): its
 * rules, and the callers that used to run loops of their own — the Uppy adapter (which ignored
 * `Retry-After`) and the SDK (which had its own jitter and no `Retry-After`) — following them.
 */
import { backoffDelay, backoffPolicy, parseRetryAfter, retryDelay } from "@fitkit/core/contract/backoff";
import type { Uppy } from "@uppy/core";
import { afterEach, describe, expect, it } from "vitest";
import { fitkitAwsS3 } from "../client/uppy.js";
import { createUploadsClient, httpTransport } from "../sdk/src/index.js";
import { type ScriptedAnswer, type ScriptedServer, startScriptedServer } from "./support/scripted-server.js";

const policy = backoffPolicy({ retries: 3, minDelayMs: 100 }, { retries: 9, minDelayMs: 1, maxDelayMs: 1000 });

describe("the backoff policy", () => {
  it("fills what the caller leaves out from the caller's defaults", () => {
    expect(policy).toEqual({ retries: 3, minDelayMs: 100, maxDelayMs: 1000 });
  });

  it("waits between half and all of the doubling step, capped at maxDelayMs", () => {
    expect([1, 2, 3, 5].map((attempt) => backoffDelay(policy, attempt, () => 0))).toEqual([50, 100, 200, 500]);
    expect([1, 2, 3, 5].map((attempt) => backoffDelay(policy, attempt, () => 1))).toEqual([100, 200, 400, 1000]);
  });

  it("reads Retry-After as seconds or as an HTTP date, and nothing else", () => {
    const now = Date.parse("2026-12-07T10:00:00Z");

    expect(parseRetryAfter("2", now)).toBe(2000);
    expect(parseRetryAfter("0.25", now)).toBe(250);
    expect(parseRetryAfter("Mon, 07 Dec 2026 10:00:03 GMT", now)).toBe(3000);
    expect([parseRetryAfter(null), parseRetryAfter(""), parseRetryAfter("soon"), parseRetryAfter("-1")]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("waits what the server asked, refuses a wait longer than maxDelayMs, and stops when the retries are spent", () => {
    expect(retryDelay(policy, 1, 700)).toBe(700);
    expect(retryDelay(policy, 1, 1001)).toBeUndefined();
    expect(retryDelay(policy, 4)).toBeUndefined();
    expect(retryDelay(policy, 3)).toBeGreaterThanOrEqual(200);
  });
});

const json = (status: number, body: unknown, headers: Record<string, string> = {}): ScriptedAnswer => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

/** A scripted server that also notes when each request arrived. */
async function timedServer(answer: (n: number) => ScriptedAnswer): Promise<ScriptedServer & { arrivals: number[] }> {
  const arrivals: number[] = [];
  const server = await startScriptedServer((_request, n) => {
    arrivals.push(Date.now());
    return answer(n);
  });
  return Object.assign(server, { arrivals });
}

describe("callers of the policy", () => {
  const servers: ScriptedServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it("the Uppy adapter waits out a 503's Retry-After before asking again (its calls go through the uploader's HTTP client)", async () => {
    const api = await timedServer((n) =>
      n === 0
        ? json(503, { error: { code: "DEPENDENCY_UNAVAILABLE", message: "redis" } }, { "retry-after": "0.4" })
        : json(200, { parts: [{ partNumber: 1, size: 5, etag: '"e"' }] }),
    );
    servers.push(api);
    const uppy = { addPreProcessor: () => undefined } as unknown as Uppy;
    const adapter = fitkitAwsS3(uppy, { apiBaseUrl: api.origin, getToken: () => "token", ownerType: "message", retry: { retries: 2, minDelayMs: 1 } });

    // The multipart callbacks, as Uppy calls them (the options' type is a union with the single-PUT shape).
    const { listParts } = adapter as unknown as { listParts(file: unknown, options: { uploadId: string; key: string }): Promise<unknown> };

    const parts = await listParts({}, { uploadId: "u".repeat(32), key: "k" });

    expect(parts).toEqual([{ PartNumber: 1, Size: 5, ETag: '"e"' }]);
    expect(api.requests.map((request) => [request.method, request.url, request.headers.authorization])).toEqual([
      ["GET", `/uploads/${"u".repeat(32)}/parts`, "Bearer token"],
      ["GET", `/uploads/${"u".repeat(32)}/parts`, "Bearer token"],
    ]);
    expect(api.arrivals[1]! - api.arrivals[0]!).toBeGreaterThanOrEqual(390);
  });

  it("the SDK waits out a Retry-After of an unavailable stack before sending the same call again", async () => {
    const stack = await timedServer((n) =>
      n === 0 ? { status: 503, headers: { "retry-after": "0.4" }, body: "busy" } : json(200, { used: 1, reserved: 0, quota: 9 }),
    );
    servers.push(stack);
    const uploads = createUploadsClient({ transport: httpTransport({ baseUrl: stack.origin, internalKey: "k" }), retry: { retries: 2, minDelayMs: 1 } });

    const usage = await uploads.usage({ orgId: "org_1" });

    expect(usage).toEqual({ used: 1, reserved: 0, quota: 9 });
    expect(stack.requests).toHaveLength(2);
    expect(stack.arrivals[1]! - stack.arrivals[0]!).toBeGreaterThanOrEqual(390);
  });

  it("the SDK sends a DEPENDENCY_UNAVAILABLE whose Retry-After is longer than maxDelayMs back at once, unretried", async () => {
    const stack = await timedServer(() => ({ status: 503, headers: { "retry-after": "30" }, body: "busy" }));
    servers.push(stack);
    const uploads = createUploadsClient({ transport: httpTransport({ baseUrl: stack.origin, internalKey: "k" }), retry: { retries: 2, minDelayMs: 1 } });

    await expect(uploads.usage({ orgId: "org_1" })).rejects.toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", retryAfterMs: 30_000 });
    expect(stack.requests).toHaveLength(1);
  });
});
