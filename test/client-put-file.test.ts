/**
 * The client's PUT loop (client/put-file.ts) on its own, with the real fetch transport against a
 * real node:http server playing storage as scripted: retries, re-presign on expiry (after the 403,
 * and before sending a URL already past its deadline), the lost-answer 412, the typed errors, abort.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { PresignedPut } from "../client/api-client.js";
import type { UploadClientError } from "../client/errors.js";
import type { FileProgressChange } from "../client/progress.js";
import { type PutFileRequest, putFile } from "../client/put-file.js";
import { retryPolicy } from "../client/retry.js";
import { fetchTransport } from "../client/transport.js";
import { type ScriptedAnswer, type ScriptedServer, startScriptedServer, storageXml } from "./support/scripted-server.js";

const servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function storage(answer: (n: number, url: string) => ScriptedAnswer | Promise<ScriptedAnswer>) {
  const started = await startScriptedServer((request, n) => answer(n, request.url));
  servers.push(started);
  return started;
}

const BYTES = new TextEncoder().encode("eight by");
const OK: ScriptedAnswer = { status: 200, headers: { etag: '"e"' } };

/** A presigned upload on the scripted storage; `deadline` defaults to far in the future. */
const presigned = (origin: string, name: string, deadline = Date.now() + 600_000): PresignedPut => ({
  mode: "single",
  uploadId: name,
  key: `org/progress_photo/user/${name}.png`,
  url: `${origin}/bucket/${name}`,
  headers: { "content-type": "image/png", "content-length": String(BYTES.byteLength), "if-none-match": "*" },
  deadline,
});

/** A put request with fast retries that records its progress reports and its re-presigns. */
function request(origin: string, overrides: Partial<PutFileRequest> = {}) {
  const reports: FileProgressChange[] = [];
  let represigns = 0;
  const put: PutFileRequest = {
    index: 0,
    body: BYTES,
    size: BYTES.byteLength,
    first: presigned(origin, "first"),
    represign: async () => presigned(origin, `fresh${++represigns}`),
    transport: fetchTransport(fetch, { stream: false }),
    retry: retryPolicy({ retries: 2, minDelayMs: 5, maxDelayMs: 20 }),
    maxRepresigns: 3,
    report: (change) => reports.push(change),
    signal: new AbortController().signal,
    ...overrides,
  };
  return { put, reports, represigns: () => represigns };
}

const caught = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail("resolved"),
    (error: unknown) => error as UploadClientError,
  );

describe("putFile", () => {
  it("sends the bytes with the signed headers and reports uploading → done", async () => {
    const s3 = await storage(() => OK);
    const { put, reports } = request(s3.origin);

    const stored = await putFile(put);

    expect(stored.uploadId).toBe("first");
    expect(s3.requests).toHaveLength(1);
    expect(s3.requests[0]).toMatchObject({
      method: "PUT",
      url: "/bucket/first",
      headers: { "content-type": "image/png", "content-length": "8", "if-none-match": "*" },
    });
    expect(s3.requests[0]!.body.equals(Buffer.from(BYTES))).toBe(true);
    expect(reports[0]).toEqual({ state: "uploading", attempt: 1 });
    expect(reports.at(-1)).toEqual({ state: "done" });
  });

  it("retries storage's 500 with backoff, reporting the retry, then stores", async () => {
    const s3 = await storage((n) => (n === 0 ? storageXml(500, "InternalError", "We encountered an internal error.") : OK));
    const { put, reports } = request(s3.origin);

    const stored = await putFile(put);

    expect(stored.uploadId).toBe("first");
    expect(s3.requests.map((r) => r.url)).toEqual(["/bucket/first", "/bucket/first"]);
    expect(reports.filter((r) => r.state)).toEqual([
      { state: "uploading", attempt: 1 },
      { state: "retrying" },
      { state: "retrying", attempt: 2 },
      { state: "done" },
    ]);
  });

  it("storage still failing after the retries is DEPENDENCY_UNAVAILABLE with storage's code", async () => {
    const s3 = await storage(() => storageXml(503, "SlowDown", "Please reduce your request rate."));
    const { put } = request(s3.origin);

    const error = await caught(putFile(put));

    expect(error).toMatchObject({
      code: "DEPENDENCY_UNAVAILABLE",
      status: 503,
      details: [{ index: 0, storageCode: "SlowDown", storageMessage: "Please reduce your request rate." }],
    });
    expect(s3.requests).toHaveLength(3);
  });

  it("403 'Request has expired' presigns again and PUTs to the new URL, whose upload is the one returned", async () => {
    const s3 = await storage((n) => (n === 0 ? storageXml(403, "AccessDenied", "Request has expired") : OK));
    const { put, represigns } = request(s3.origin);

    const stored = await putFile(put);

    expect(stored.uploadId).toBe("fresh1");
    expect(represigns()).toBe(1);
    expect(s3.requests.map((r) => r.url)).toEqual(["/bucket/first", "/bucket/fresh1"]);
  });

  it("a URL past its deadline is replaced before anything is sent", async () => {
    const s3 = await storage(() => OK);
    const { put, represigns } = request(s3.origin);

    const stored = await putFile({ ...put, first: presigned(s3.origin, "stale", Date.now() - 1) });

    expect(stored.uploadId).toBe("fresh1");
    expect(represigns()).toBe(1);
    expect(s3.requests.map((r) => r.url)).toEqual(["/bucket/fresh1"]);
  });

  it("past maxRepresigns, an expired URL is STORAGE_REJECTED", async () => {
    const s3 = await storage(() => storageXml(403, "AccessDenied", "Request has expired"));
    const { put, represigns } = request(s3.origin, { maxRepresigns: 1 });

    const error = await caught(putFile(put));

    expect(error).toMatchObject({
      code: "STORAGE_REJECTED",
      status: 403,
      details: [{ index: 0, storageCode: "AccessDenied", storageMessage: "Request has expired" }],
    });
    expect(represigns()).toBe(1);
    expect(s3.requests).toHaveLength(2);
  });

  it("a dropped connection, then 412 on the retry: the first PUT landed, so the file is stored", async () => {
    const s3 = await storage((n) =>
      n === 0 ? "drop" : storageXml(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"),
    );
    const { put, reports } = request(s3.origin);

    const stored = await putFile(put);

    expect(stored.uploadId).toBe("first");
    expect(s3.requests).toHaveLength(2);
    expect(reports.at(-1)).toEqual({ state: "done" });
  });

  it("412 without an earlier unanswered PUT is STORAGE_REJECTED, not retried", async () => {
    const s3 = await storage(() => storageXml(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"));
    const { put } = request(s3.origin);

    const error = await caught(putFile(put));

    expect(error).toMatchObject({ code: "STORAGE_REJECTED", status: 412, details: [{ index: 0, storageCode: "PreconditionFailed" }] });
    expect(s3.requests).toHaveLength(1);
  });

  it("no answer after every retry is NETWORK_ERROR", async () => {
    const s3 = await storage(() => "drop");
    const { put } = request(s3.origin);

    const error = await caught(putFile(put));

    expect(error).toMatchObject({ code: "NETWORK_ERROR", status: 0 });
    expect(s3.requests).toHaveLength(3);
  });

  it("an abort during the backoff wait ends it at once with ABORTED, and nothing more is sent", async () => {
    const s3 = await storage(() => storageXml(503, "SlowDown", "Please reduce your request rate."));
    const controller = new AbortController();
    const { put } = request(s3.origin, { signal: controller.signal, retry: retryPolicy({ retries: 3, minDelayMs: 20_000, maxDelayMs: 20_000 }) });

    const started = Date.now();
    const pending = caught(putFile(put));
    setTimeout(() => controller.abort(), 100);
    const error = await pending;

    expect(error).toMatchObject({ code: "ABORTED", status: 0 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(s3.requests).toHaveLength(1);
  });
});
