/** The direct public signature upload's rules, on in-memory fakes with a controllable clock. */
import { createHash } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { pdfOfSize, pngImage, zipBytes } from "../../../support/media.js";
import { MemoryObjectStore } from "../adapters/memory/memory-object-store.js";
import { MemoryStore } from "../adapters/memory/memory-store.js";
import { FastUrlSigner } from "../adapters/s3/fast-url-signer.js";
import { DependencyUnavailableError } from "../errors.js";
import type { Scanner, ScanVerdict } from "../scanning/scanner.js";
import { completeSignatureUpload, requestSignatureUpload } from "./direct-signature-upload.js";
import { issueSignatureToken } from "./issue-signature-token.js";
import { publicSignatureUpload } from "./public-signature-upload.js";

const MiB = 1024 * 1024;
let now = 1_800_000_000_000;
const clock = { now: () => now };
let store: MemoryStore;
let objects: MemoryObjectStore;
/** What the scanner answers next: a verdict, or an error (clamd unreachable). */
let scanAnswer: ScanVerdict | Error;
const scanner: Scanner = {
  scan: async (source) => {
    for await (const _chunk of source); // a scanner reads the whole stream
    if (scanAnswer instanceof Error) throw scanAnswer;
    return scanAnswer;
  },
};
const settings = { presignTtlSeconds: 600, stagingGraceSeconds: 3600, orgQuotaBytes: 1e9, publicPutRatePerMinute: 100 };
const signer = new FastUrlSigner({ endpoint: "https://r2.example.test", region: "auto", accessKeyId: "AKID", secretAccessKey: "secret" });

beforeEach(() => {
  store = new MemoryStore(clock);
  objects = new MemoryObjectStore();
  scanAnswer = { clean: true };
});

const deps = () => ({ store, tokens: store, objects, signer, scanner, settings, complianceBucket: "compliance", clock });
const caller = (token: string) => ({ token, clientIp: "203.0.113.7" });
const issue = async (ttlSeconds = 3600) =>
  (await issueSignatureToken({ tokens: store }, { orgId: "org_1", formId: "form_1", submissionId: "sub_1", ttlSeconds })).token;
const request = (token: string, body: { contentType: string; size: number; sha256?: string }) => requestSignatureUpload(deps(), caller(token), body);
const complete = (token: string, uploadId: string) => completeSignatureUpload(deps(), caller(token), { uploadId });
/** The signatory's PUT to the presigned URL, as storage would store it. */
const putToStorage = (key: string, body: Uint8Array, contentType: string) =>
  objects.put({ bucket: "compliance", key, body, contentType, checksumSha256: createHash("sha256").update(body).digest("base64") });
const reserved = async () => (await store.usage("org_1", 1e9)).reserved;

describe("requesting a direct signature upload", () => {
  it("stages a form_signature (reserved, on the sweeper's list) and signs a PUT pinning size, type and no overwrite", async () => {
    const token = await issue();

    const presigned = await request(token, { contentType: "application/pdf", size: 8 * MiB });

    expect(store.uploads.get(presigned.uploadId)).toMatchObject({
      ownerType: "form_signature",
      orgId: "org_1",
      userId: null,
      bucket: "compliance",
      key: `incoming/org_1/${presigned.uploadId}.pdf`,
      contentType: "application/pdf",
      size: 8 * MiB,
      status: "staged",
      meta: { formId: "form_1", submissionId: "sub_1" },
    });
    expect(store.deadlines.get(presigned.uploadId)).toBe(now + 4200_000);
    expect(await reserved()).toBe(8 * MiB);
    expect(presigned).toEqual({
      uploadId: expect.stringMatching(/^[0-9a-f]{32}$/),
      key: `incoming/org_1/${presigned.uploadId}.pdf`,
      method: "PUT",
      url: expect.stringContaining(`/compliance/incoming/org_1/${presigned.uploadId}.pdf?`),
      headers: { "content-length": String(8 * MiB), "content-type": "application/pdf", "if-none-match": "*" },
      expiresAt: new Date(now + 600_000).toISOString(),
    });
    expect(new URL(presigned.url).searchParams.get("X-Amz-SignedHeaders")).toBe("content-length;content-type;host;if-none-match");
  });

  it("checks the policy before staging: another type is 415, a PDF above 25 MiB or a PNG above 5 MiB 413", async () => {
    const token = await issue();

    await expect(request(token, { contentType: "image/svg+xml", size: 10 })).rejects.toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE" });
    await expect(request(token, { contentType: "application/pdf", size: 25 * MiB + 1 })).rejects.toMatchObject({
      code: "TOO_LARGE",
      details: [{ maxBytes: 25 * MiB }],
    });
    await expect(request(token, { contentType: "image/png", size: 5 * MiB + 1 })).rejects.toMatchObject({ code: "TOO_LARGE" });
    expect(store.uploads.size).toBe(0);
    await expect(request(token, { contentType: "application/pdf", size: 25 * MiB })).resolves.toMatchObject({ method: "PUT" });
  });

  it("refuses an expired token with 410 and a used one with 409, staging nothing", async () => {
    const expired = await issue(60);
    now += 61_000;
    const used = await issue();
    await publicSignatureUpload(deps(), { ...caller(used), contentType: "image/png", body: pngImage() });
    const stagedBefore = store.uploads.size;

    await expect(request(expired, { contentType: "application/pdf", size: 100 })).rejects.toMatchObject({ code: "EXPIRED", status: 410 });
    await expect(request(used, { contentType: "application/pdf", size: 100 })).rejects.toMatchObject({ code: "TOKEN_USED", status: 409 });
    expect(store.uploads.size).toBe(stagedBefore);
  });

  it("a second request replaces the pending upload: its object is deleted, its reservation given back, and it can no longer be completed", async () => {
    const token = await issue();
    const first = await request(token, { contentType: "application/pdf", size: 1000 });
    await putToStorage(first.key, pdfOfSize(1000), "application/pdf");

    const second = await request(token, { contentType: "application/pdf", size: 2000 });

    expect(second.uploadId).not.toBe(first.uploadId);
    expect(objects.objects.has(`compliance/${first.key}`)).toBe(false);
    expect(store.uploads.has(first.uploadId)).toBe(false);
    expect(await reserved()).toBe(2000);
    await expect(complete(token, first.uploadId)).rejects.toMatchObject({ code: "NOT_FOUND", status: 404 });
  });
});

describe("completing a direct signature upload", () => {
  it("checks the stored object, burns the token and answers like the small PUT; a second complete is 409 TOKEN_USED", async () => {
    const token = await issue();
    const pdf = pdfOfSize(3 * MiB);
    const presigned = await request(token, { contentType: "application/pdf", size: pdf.length });
    await putToStorage(presigned.key, pdf, "application/pdf");

    const completed = await complete(token, presigned.uploadId);

    expect(completed).toEqual({ uploadId: presigned.uploadId, sha256: createHash("sha256").update(pdf).digest("base64"), size: pdf.length });
    expect(store.uploads.get(presigned.uploadId)?.status).toBe("staged"); // consume links it, as for the small PUT
    await expect(complete(token, presigned.uploadId)).rejects.toMatchObject({ code: "TOKEN_USED", status: 409 });
    await expect(request(token, { contentType: "application/pdf", size: 10 })).rejects.toMatchObject({ code: "TOKEN_USED" });
  });

  it("nothing uploaded yet is 409 NOT_UPLOADED and leaves the token and the upload as they were", async () => {
    const token = await issue();
    const pdf = pdfOfSize(5000);
    const presigned = await request(token, { contentType: "application/pdf", size: pdf.length });

    await expect(complete(token, presigned.uploadId)).rejects.toMatchObject({ code: "NOT_UPLOADED", status: 409 });
    await putToStorage(presigned.key, pdf, "application/pdf");
    await expect(complete(token, presigned.uploadId)).resolves.toMatchObject({ uploadId: presigned.uploadId });
  });

  it("bytes that are not the declared type are 422: object deleted, reservation given back, token still usable", async () => {
    const token = await issue();
    const zip = zipBytes();
    const presigned = await request(token, { contentType: "application/pdf", size: zip.length });
    await putToStorage(presigned.key, zip, "application/pdf");

    await expect(complete(token, presigned.uploadId)).rejects.toMatchObject({
      code: "CONTENT_MISMATCH",
      status: 422,
      details: [{ uploadId: presigned.uploadId, declared: "application/pdf", detected: "application/zip", reason: "magic bytes" }],
    });
    expect(objects.objects.size).toBe(0);
    expect(store.uploads.has(presigned.uploadId)).toBe(false);
    expect(await reserved()).toBe(0);
    await expect(complete(token, presigned.uploadId)).rejects.toMatchObject({ code: "NOT_FOUND" });

    const pdf = pdfOfSize(4000);
    const retry = await request(token, { contentType: "application/pdf", size: pdf.length });
    await putToStorage(retry.key, pdf, "application/pdf");
    await expect(complete(token, retry.uploadId)).resolves.toMatchObject({ uploadId: retry.uploadId });
  });

  it("a stored size or type other than the signed one is 422 CONTENT_MISMATCH", async () => {
    const token = await issue();
    const pdf = pdfOfSize(3000);
    const wrongSize = await request(token, { contentType: "application/pdf", size: 2999 });
    await putToStorage(wrongSize.key, pdf, "application/pdf");
    await expect(complete(token, wrongSize.uploadId)).rejects.toMatchObject({ code: "CONTENT_MISMATCH", details: [{ reason: "size" }] });

    const wrongType = await request(token, { contentType: "application/pdf", size: pdf.length });
    await putToStorage(wrongType.key, pdf, "image/png");
    await expect(complete(token, wrongType.uploadId)).rejects.toMatchObject({ code: "CONTENT_MISMATCH", details: [{ reason: "type" }] });
    expect(objects.objects.size).toBe(0);
  });

  it("malware is 422 MALWARE_DETECTED and deleted; a scanner that cannot answer is 503 and keeps everything for a retry", async () => {
    const token = await issue();
    const pdf = pdfOfSize(6000);
    const infected = await request(token, { contentType: "application/pdf", size: pdf.length });
    await putToStorage(infected.key, pdf, "application/pdf");
    scanAnswer = { clean: false, signature: "Test.EICAR" };
    await expect(complete(token, infected.uploadId)).rejects.toMatchObject({ code: "MALWARE_DETECTED", status: 422 });
    expect(objects.objects.size).toBe(0);

    const presigned = await request(token, { contentType: "application/pdf", size: pdf.length });
    await putToStorage(presigned.key, pdf, "application/pdf");
    scanAnswer = new DependencyUnavailableError("scanner");
    await expect(complete(token, presigned.uploadId)).rejects.toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", status: 503 });
    expect(objects.objects.size).toBe(1);

    scanAnswer = { clean: true };
    await expect(complete(token, presigned.uploadId)).resolves.toMatchObject({ uploadId: presigned.uploadId });
  });

  it("a declared SHA-256 that the bytes do not have is 422", async () => {
    const token = await issue();
    const pdf = pdfOfSize(3000);
    const presigned = await request(token, { contentType: "application/pdf", size: pdf.length, sha256: createHash("sha256").update("other").digest("base64") });
    await objects.put({ bucket: "compliance", key: presigned.key, body: pdf, contentType: "application/pdf", checksumSha256: "" });

    await expect(complete(token, presigned.uploadId)).rejects.toMatchObject({ code: "CONTENT_MISMATCH", details: [{ reason: "sha256" }] });
  });

  it("concurrent completes: exactly one burns the token, the others are 409 TOKEN_USED and delete nothing", async () => {
    const token = await issue();
    const pdf = pdfOfSize(10_000);
    const presigned = await request(token, { contentType: "application/pdf", size: pdf.length });
    await putToStorage(presigned.key, pdf, "application/pdf");

    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => complete(token, presigned.uploadId)));

    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    expect(outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason.code] : []))).toEqual(["TOKEN_USED", "TOKEN_USED", "TOKEN_USED"]);
    expect(objects.objects.has(`compliance/${presigned.key}`)).toBe(true);
  });

  it("too late to leave the consumer half the staging grace is 410 EXPIRED, and the token stays usable", async () => {
    const token = await issue(86_400);
    const pdf = pdfOfSize(3000);
    const presigned = await request(token, { contentType: "application/pdf", size: pdf.length });
    await putToStorage(presigned.key, pdf, "application/pdf");
    now += 600_000 + 1800_000;

    await expect(complete(token, presigned.uploadId)).rejects.toMatchObject({ code: "EXPIRED", details: [{ uploadId: presigned.uploadId }] });
    await expect(request(token, { contentType: "application/pdf", size: pdf.length })).resolves.toMatchObject({ method: "PUT" });
  });
});

describe("the small PUT beside it", () => {
  it("refuses a body above 4 MiB with 413 naming the direct route, without burning the token", async () => {
    const token = await issue();
    const put = (body: Uint8Array) => publicSignatureUpload(deps(), { ...caller(token), contentType: "application/pdf", body });

    await expect(put(pdfOfSize(4 * MiB + 1))).rejects.toMatchObject({
      code: "TOO_LARGE",
      status: 413,
      details: [{ maxBytes: 4 * MiB, use: "POST /public/signatures/{token}/uploads" }],
    });
    await expect(put(pdfOfSize(4 * MiB))).resolves.toMatchObject({ size: 4 * MiB });
  });
});
