/**
 * Form signatures over HTTP against the local stack (real S3 server): token-gated public upload
 * into the compliance bucket, single use under concurrency, spoof refusal without burning the
 * token, promotion to records/ at consume, admin-only reads, and the sweeper's limits.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { pdfBytes, pngImage, zipBytes } from "../support/media.js";
import { sleep, uniqueId } from "./support/fixtures.js";
import { errorBody } from "./support/http.js";
// Every reply of the API in this file is checked against docs/openapi.json (status and body).
import { documentedInternal, expectDocumentedResponse, documentedPostJson as postJson } from "./support/openapi.js";

const TTL_SECONDS = 6;
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ PRESIGN_TTL_SECONDS: String(TTL_SECONDS), STAGING_GRACE_SECONDS: "0", PUBLIC_PUT_RATE_PER_MINUTE: "1000" });
}, 90_000);
afterAll(() => stack?.close());

const internal = (name: string, payload: unknown) => documentedInternal(stack, name, payload);

async function issue(orgId = uniqueId("org")) {
  const res = await internal("issue-signature-token", { orgId, formId: uniqueId("form"), submissionId: uniqueId("sub"), ttlSeconds: 3600 });
  expect(res.status).toBe(201);
  return { orgId, ...(res.body as { token: string; path: string; expiresAt: string }) };
}

const putSignature = (path: string, bytes: Uint8Array, contentType = "image/png") =>
  fetch(`${stack.api}${path}`, { method: "PUT", headers: { "content-type": contentType }, body: bytes as BodyInit }).then((res) =>
    expectDocumentedResponse("PUT", path, res),
  );

const consumeSignature = (orgId: string, uploadId: string, idempotencyKey = uniqueId("k")) =>
  internal("consume", { uploadIds: [uploadId], ownerType: "form_signature", owner: { orgId }, idempotencyKey });

describe("issuing a signature link", () => {
  it("returns a random URL-safe token (≥128 bits), its public path and expiry", async () => {
    const { token, path, expiresAt } = await issue();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(path).toBe(`/public/signatures/${token}`);
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(3500_000);
  });
});

describe("PUT /public/signatures/{token}", () => {
  it("stores the bytes under incoming/ with their SHA-256 and answers 201", async () => {
    const { path } = await issue();
    const bytes = pngImage(5, 3);

    const res = await putSignature(path, bytes);

    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({
      uploadId: expect.stringMatching(/^[0-9a-f]{32}$/),
      sha256: createHash("sha256").update(bytes).digest("base64"),
      size: bytes.length,
    });
  });

  it("works once: a second use is 409 TOKEN_USED, an unknown token 404", async () => {
    const { path } = await issue();
    expect((await putSignature(path, pngImage())).status).toBe(201);

    const again = await putSignature(path, pngImage());
    const unknown = await putSignature(`/public/signatures/${"A".repeat(43)}`, pngImage());
    const garbage = await putSignature("/public/signatures/not-a-token", pngImage());
    const malformed = await putSignature("/public/signatures/%E0%A4%A", pngImage());

    expect(again.status).toBe(409);
    expect(await again.json()).toEqual(errorBody("TOKEN_USED"));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual(errorBody("NOT_FOUND"));
    expect(garbage.status).toBe(404);
    expect(malformed.status).toBe(404);
    expect(await malformed.json()).toEqual(errorBody("NOT_FOUND"));
  });

  it("lets exactly one of many concurrent PUTs with one token succeed", async () => {
    const { path, orgId } = await issue();

    // Eight different images (their PNGs differ in size by a few bytes): whichever wins, its size is the one reserved.
    const images = Array.from({ length: 8 }, (_, i) => pngImage(2, 2, [i, i, i]));
    const statuses = await Promise.all(images.map((image) => putSignature(path, image).then((r) => r.status)));

    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    // The losers' objects and reservations were taken back: only the winner's bytes count.
    const winner = images[statuses.indexOf(201)]!;
    expect((await internal("usage", { orgId })).body.reserved).toBe(winner.length);
  });

  it("refuses a spoofed file (ZIP bytes declared as PNG) with 422 without burning the token", async () => {
    const { path } = await issue();

    const spoof = await putSignature(path, zipBytes(), "image/png");
    const real = await putSignature(path, pngImage());

    expect(spoof.status).toBe(422);
    expect(await spoof.json()).toEqual({
      error: { code: "CONTENT_MISMATCH", message: expect.any(String), details: [{ declared: "image/png", detected: "application/zip" }] },
    });
    expect(real.status).toBe(201);
  });

  it("refuses another type (415) and more than 5 MiB (413) without burning the token", async () => {
    const { path } = await issue();

    const svg = await putSignature(path, Buffer.from("<svg/>"), "image/svg+xml");
    const big = await putSignature(path, Buffer.concat([pngImage(), Buffer.alloc(5 * 1024 * 1024)]));
    const ok = await putSignature(path, pngImage());

    expect([svg.status, big.status, ok.status]).toEqual([415, 413, 201]);
    expect(await svg.json()).toEqual(errorBody("UNSUPPORTED_MEDIA_TYPE"));
  });
});

describe("linking a signature to its submission", () => {
  it("consume promotes the object to records/ of the records bucket byte for byte, and only an admin of the org reads it", async () => {
    const { path, orgId } = await issue();
    const pdf = pdfBytes();
    const stored = await (await putSignature(path, pdf, "application/pdf")).json();

    const consumed = await consumeSignature(orgId, stored.uploadId);

    expect(consumed.status).toBe(200);
    const linked = consumed.body.uploads[0];
    expect(linked).toEqual({
      uploadId: stored.uploadId,
      bucket: stack.buckets.records,
      key: `records/${orgId}/${stored.uploadId}.pdf`,
      contentType: "application/pdf",
      size: pdf.length,
      etag: expect.any(String),
      sha256: stored.sha256,
    });
    const incoming = await fetch(`${stack.s3}/${stack.buckets.compliance}/incoming/${orgId}/${stored.uploadId}.pdf`, { method: "HEAD" });
    expect(incoming.status).toBe(404);
    // Nothing of the record in the compliance bucket, the one the public signature routes' token reaches.
    const inCompliance = await fetch(`${stack.s3}/${stack.buckets.compliance}/${linked.key}`, { method: "HEAD" });
    expect(inCompliance.status).toBe(404);

    const admin = await stack.token({ userId: uniqueId("user"), orgId, role: "admin" });
    const signed = await postJson(`${stack.api}/uploads/signed-urls`, { keys: [linked.key], expiresIn: 3600 }, admin);
    expect(signed.status).toBe(200);
    const url = new URL(signed.body.urls[0].url);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("300"); // short, whatever was asked
    const disposition = `attachment; filename="${stored.uploadId}.pdf"`;
    expect(url.searchParams.get("response-content-disposition")).toBe(disposition);
    const download = await fetch(url);
    expect(download.headers.get("content-disposition")).toBe(disposition);
    expect(download.headers.get("cache-control")).toBe("private, max-age=299");
    expect(Buffer.from(await download.arrayBuffer())).toEqual(pdf);

    const member = await stack.token({ userId: uniqueId("user"), orgId, role: "member" });
    const otherAdmin = await stack.token({ userId: uniqueId("user"), orgId: uniqueId("org"), role: "admin" });
    for (const token of [member, otherAdmin]) {
      const refused = await postJson(`${stack.api}/uploads/signed-urls`, { keys: [linked.key] }, token);
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual(errorBody("FORBIDDEN"));
    }
  });

  it("a repeated consume under the same key replays; incoming/ keys are never readable", async () => {
    const { path, orgId } = await issue();
    const stored = await (await putSignature(path, pngImage())).json();
    const first = await consumeSignature(orgId, stored.uploadId, "sig-1");
    const replay = await consumeSignature(orgId, stored.uploadId, "sig-1");
    expect(replay).toEqual(first);

    const admin = await stack.token({ userId: uniqueId("user"), orgId, role: "admin" });
    const incoming = await postJson(`${stack.api}/uploads/signed-urls`, { keys: [`incoming/${orgId}/${stored.uploadId}.png`] }, admin);
    expect(incoming.status).toBe(403);
  });
});

describe("the sweeper and signatures", () => {
  it("deletes an unconsumed signature from incoming/ and never touches records/", async () => {
    const linked = await issue();
    const abandoned = await issue();
    const kept = await (await putSignature(linked.path, pngImage())).json();
    const lost = await (await putSignature(abandoned.path, pngImage())).json();
    await consumeSignature(linked.orgId, kept.uploadId);
    await sleep(TTL_SECONDS * 1000 + 300);

    const swept = await internal("sweeper", {});

    expect(swept.status).toBe(200);
    expect(swept.body).toMatchObject({ failed: 0 });
    expect(swept.body.deleted).toBeGreaterThanOrEqual(1);
    const head = (bucket: string, key: string) => fetch(`${stack.s3}/${bucket}/${key}`, { method: "HEAD" }).then((r) => r.status);
    expect(await head(stack.buckets.compliance, `incoming/${abandoned.orgId}/${lost.uploadId}.png`)).toBe(404);
    expect(await head(stack.buckets.records, `records/${linked.orgId}/${kept.uploadId}.png`)).toBe(200);
    expect((await consumeSignature(abandoned.orgId, lost.uploadId)).status).toBe(410);
  });
});
