/**
 * The direct public signature upload over HTTP, on the local stack with a real redis-server and the
 * embedded S3 server: request a presigned PUT, PUT the bytes straight into storage, complete; then
 * consume promotes it to records/. Also: failed completes keep the token, concurrent completes have
 * one winner, spoofs are deleted, expired tokens refused, and uncompleted uploads swept.
 */
import { createHash } from "node:crypto";
import { createIoredisClient, IoredisDriver } from "@fitkit/core/adapters/redis/ioredis-driver";
import { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { hashToken } from "@fitkit/core/signatures/signature-tokens";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { pdfOfSize, zipBytes } from "../support/media.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { sleep, uniqueId } from "./support/fixtures.js";
import { errorBody, putPresigned } from "./support/http.js";
// Every reply of the API in this file is checked against docs/openapi.json (status and body).
import { documentedInternal, expectDocumentedResponse, documentedPostJson as postJson } from "./support/openapi.js";

const MiB = 1024 * 1024;
const TTL_SECONDS = 5;
let redis: RedisServer;
let client: Redis;
let stack: LocalStack;

beforeAll(async () => {
  redis = await startRedisServer();
  client = createIoredisClient(redis.url);
  stack = await startLocalStack({
    REDIS_URL: redis.url,
    PRESIGN_TTL_SECONDS: String(TTL_SECONDS),
    STAGING_GRACE_SECONDS: "0",
    PUBLIC_PUT_RATE_PER_MINUTE: "1000",
  });
}, 90_000);
afterAll(async () => {
  await stack?.close();
  client?.disconnect();
  await redis?.close();
});

const internal = (name: string, payload: unknown) => documentedInternal(stack, name, payload);

async function issue(orgId = uniqueId("org")) {
  const res = await internal("issue-signature-token", { orgId, formId: uniqueId("form"), submissionId: uniqueId("sub"), ttlSeconds: 3600 });
  expect(res.status).toBe(201);
  return { orgId, ...(res.body as { token: string; path: string }) };
}

const requestUpload = (path: string, body: unknown) => postJson(`${stack.api}${path}/uploads`, body);
const complete = (path: string, uploadId: string) => postJson(`${stack.api}${path}/complete`, { uploadId });
const headIncoming = (key: string) => fetch(`${stack.s3}/${stack.buckets.compliance}/${key}`, { method: "HEAD" }).then((r) => r.status);
const reserved = async (orgId: string) => (await internal("usage", { orgId })).body.reserved;

describe("POST /public/signatures/{token}/uploads and /complete", () => {
  it("an 8 MiB PDF goes straight to storage, completes, is linked by consume and reads back byte for byte", async () => {
    const { path, orgId } = await issue();
    const pdf = pdfOfSize(8 * MiB);

    const requested = await requestUpload(path, { contentType: "application/pdf", size: pdf.length });
    expect(requested.status).toBe(201);
    expect(requested.body).toEqual({
      uploadId: expect.stringMatching(/^[0-9a-f]{32}$/),
      key: `incoming/${orgId}/${requested.body.uploadId}.pdf`,
      method: "PUT",
      url: expect.any(String),
      headers: { "content-length": String(pdf.length), "content-type": "application/pdf", "if-none-match": "*" },
      expiresAt: expect.any(String),
    });
    expect((await putPresigned(requested.body, pdf)).status).toBe(200);
    const completed = await complete(path, requested.body.uploadId);
    expect(completed).toEqual({
      status: 200,
      headers: expect.anything(),
      body: { uploadId: requested.body.uploadId, sha256: createHash("sha256").update(pdf).digest("base64"), size: pdf.length },
    });

    const consumed = await internal("consume", {
      uploadIds: [requested.body.uploadId],
      ownerType: "form_signature",
      owner: { orgId },
      idempotencyKey: uniqueId("k"),
    });
    expect(consumed.status).toBe(200);
    expect(consumed.body.uploads[0]).toMatchObject({ key: `records/${orgId}/${requested.body.uploadId}.pdf`, size: pdf.length });
    const admin = await stack.token({ userId: uniqueId("user"), orgId, role: "admin" });
    const signed = await postJson(`${stack.api}/uploads/signed-urls`, { keys: [consumed.body.uploads[0].key] }, admin);
    const download = Buffer.from(await (await fetch(signed.body.urls[0].url)).arrayBuffer());
    expect(download.equals(pdf)).toBe(true);
    expect(await reserved(orgId)).toBe(0);
  });

  it("storage refuses a PUT of another size or type than was signed", async () => {
    const { path } = await issue();
    const pdf = pdfOfSize(50_000);
    const { body: upload } = await requestUpload(path, { contentType: "application/pdf", size: pdf.length });

    const longer = await fetch(upload.url, {
      method: "PUT",
      headers: { ...upload.headers, "content-length": String(pdf.length + 1) },
      body: pdfOfSize(pdf.length + 1) as BodyInit,
    });
    const otherType = await fetch(upload.url, { method: "PUT", headers: { ...upload.headers, "content-type": "image/png" }, body: pdf as BodyInit });

    expect(longer.status).toBeGreaterThanOrEqual(400);
    expect(otherType.status).toBe(403);
    expect(await headIncoming(upload.key)).toBe(404);
  });

  it("a complete before the bytes arrive is 409 NOT_UPLOADED and does not burn the token", async () => {
    const { path } = await issue();
    const pdf = pdfOfSize(100_000);
    const { body: upload } = await requestUpload(path, { contentType: "application/pdf", size: pdf.length });

    const early = await complete(path, upload.uploadId);
    await putPresigned(upload, pdf);
    const late = await complete(path, upload.uploadId);

    expect(early).toMatchObject({ status: 409, body: errorBody("NOT_UPLOADED") });
    expect(late.status).toBe(200);
  });

  it("concurrent completes: one 200, the others 409 TOKEN_USED; the object stays", async () => {
    const { path } = await issue();
    const pdf = pdfOfSize(2 * MiB);
    const { body: upload } = await requestUpload(path, { contentType: "application/pdf", size: pdf.length });
    await putPresigned(upload, pdf);

    const replies = await Promise.all(Array.from({ length: 4 }, () => complete(path, upload.uploadId)));

    expect(replies.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
    for (const reply of replies.filter((r) => r.status === 409)) expect(reply.body).toEqual(errorBody("TOKEN_USED"));
    expect(await headIncoming(upload.key)).toBe(200);
  });

  it("a spoofed PDF (ZIP bytes) is 422 CONTENT_MISMATCH: deleted, reservation given back, token still usable", async () => {
    const { path, orgId } = await issue();
    const zip = zipBytes();
    const { body: spoof } = await requestUpload(path, { contentType: "application/pdf", size: zip.length });
    expect((await putPresigned(spoof, zip)).status).toBe(200);

    const refused = await complete(path, spoof.uploadId);

    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: "CONTENT_MISMATCH", details: [{ declared: "application/pdf", detected: "application/zip" }] });
    expect(await headIncoming(spoof.key)).toBe(404);
    expect(await reserved(orgId)).toBe(0);
    const pdf = pdfOfSize(20_000);
    const { body: retry } = await requestUpload(path, { contentType: "application/pdf", size: pdf.length });
    await putPresigned(retry, pdf);
    expect((await complete(path, retry.uploadId)).status).toBe(200);
  });

  it("a second request replaces the pending upload (its object deleted, only the new one reserved)", async () => {
    const { path, orgId } = await issue();
    const first = pdfOfSize(30_000);
    const { body: old } = await requestUpload(path, { contentType: "application/pdf", size: first.length });
    await putPresigned(old, first);

    const { body: replacement } = await requestUpload(path, { contentType: "application/pdf", size: 40_000 });

    expect(await headIncoming(old.key)).toBe(404);
    expect(await reserved(orgId)).toBe(40_000);
    expect(await complete(path, old.uploadId)).toMatchObject({ status: 404, body: errorBody("NOT_FOUND") });
    await putPresigned(replacement, pdfOfSize(40_000));
    expect((await complete(path, replacement.uploadId)).status).toBe(200);
  });

  it("refuses bad requests: 415 type, 413 size, 400 body, 404 unknown token, 410 expired token", async () => {
    const { path } = await issue();
    const expiredToken = "E".repeat(43);
    await new RedisStore(new IoredisDriver(client)).putSignatureToken(
      { tokenHash: hashToken(expiredToken), orgId: uniqueId("org"), formId: "form_1", submissionId: "sub_1" },
      1,
    );
    await sleep(1100);

    const replies = await Promise.all([
      requestUpload(path, { contentType: "image/svg+xml", size: 10 }),
      requestUpload(path, { contentType: "application/pdf", size: 25 * MiB + 1 }),
      requestUpload(path, { contentType: "application/pdf" }),
      requestUpload(`/public/signatures/${"A".repeat(43)}`, { contentType: "application/pdf", size: 10 }),
      requestUpload(`/public/signatures/${expiredToken}`, { contentType: "application/pdf", size: 10 }),
      complete(`/public/signatures/${expiredToken}`, "0".repeat(32)),
    ]);

    expect(replies.map((r) => [r.status, r.body.error.code])).toEqual([
      [415, "UNSUPPORTED_MEDIA_TYPE"],
      [413, "TOO_LARGE"],
      [400, "INVALID_REQUEST"],
      [404, "NOT_FOUND"],
      [410, "EXPIRED"],
      [410, "EXPIRED"],
    ]);
  });

  it("the small PUT refuses a body above 4 MiB with 413 pointing at the direct upload", async () => {
    const { path } = await issue();

    const res = await expectDocumentedResponse(
      "PUT",
      path,
      await fetch(`${stack.api}${path}`, { method: "PUT", headers: { "content-type": "application/pdf" }, body: pdfOfSize(4 * MiB + 1) as BodyInit }),
    );

    expect(res.status).toBe(413);
    expect((await res.json()).error).toMatchObject({ code: "TOO_LARGE", details: [{ maxBytes: 4 * MiB, use: "POST /public/signatures/{token}/uploads" }] });
  });
});

describe("the sweeper and direct uploads", () => {
  it("deletes a direct upload that was PUT but never completed, and gives back its reservation", async () => {
    const { path, orgId } = await issue();
    const pdf = pdfOfSize(60_000);
    const { body: upload } = await requestUpload(path, { contentType: "application/pdf", size: pdf.length });
    await putPresigned(upload, pdf);
    await sleep(TTL_SECONDS * 1000 + 300);

    const swept = await internal("sweeper", {});

    expect(swept).toMatchObject({ status: 200, body: { failed: 0 } });
    expect(await headIncoming(upload.key)).toBe(404);
    expect(await reserved(orgId)).toBe(0);
    expect(await complete(path, upload.uploadId)).toMatchObject({ status: 410, body: errorBody("EXPIRED") });
  });
});
