/**
 * Multipart uploads of large videos over HTTP against the local stack as `npm start` runs it:
 * presign → part URLs → PUT parts straight to the SigV4-checking S3 server → complete → consume,
 * with storage enforcing every part's signed length; resume, cancel, sweep and racing completes.
 */
import { createHash } from "node:crypto";
import { GetObjectCommand, ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";
import { STAGING_PREFIX } from "@fitkit/core/policies/object-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { mp4Bytes } from "../support/media.js";
import { sleep, uniqueId } from "./support/fixtures.js";
import { errorBody, postJson } from "./support/http.js";

const MiB = 1024 * 1024;
const TTL_SECONDS = 12;
let stack: LocalStack;
let s3: S3Client;

beforeAll(async () => {
  stack = await startLocalStack({
    PRESIGN_TTL_SECONDS: String(TTL_SECONDS),
    STAGING_GRACE_SECONDS: "0",
    ORG_QUOTA_BYTES: String(400 * MiB),
    USER_IN_FLIGHT_BYTES: String(300 * MiB),
    MULTIPART_PART_BYTES: String(5 * MiB),
  });
  s3 = new S3Client({
    endpoint: stack.s3,
    region: "auto",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}, 90_000);
afterAll(async () => {
  s3?.destroy();
  await stack?.close();
});

async function member() {
  const userId = uniqueId("user");
  const orgId = uniqueId("org");
  return { userId, orgId, token: await stack.token({ userId, orgId, role: "member" }) };
}

/** A real MP4 header padded to `size` bytes, with a varied body so misplaced parts change the digest. */
function video(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  mp4Bytes().copy(bytes);
  for (let i = 4096; i < size; i += 4096) bytes.writeUInt32BE(i, i);
  return bytes;
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

async function request(method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${stack.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function presignVideo(token: string, size: number, extra: Record<string, unknown> = {}) {
  const presigned = await postJson(`${stack.api}/uploads`, { ownerType: "exercise_comment", files: [{ contentType: "video/mp4", size, ...extra }] }, token);
  expect(presigned.status).toBe(201);
  return presigned.body.uploads[0];
}

/**
 * Sends the given parts four at a time, signing each batch just before it goes (as the client does:
 * each signing moves the deadline); answers the HTTP status of each PUT.
 */
async function sendParts(token: string, upload: { uploadId: string; partSize: number }, bytes: Buffer, partNumbers: number[]) {
  const statuses: number[] = [];
  for (let i = 0; i < partNumbers.length; i += 4) {
    const signed = await request("POST", `/uploads/${upload.uploadId}/parts`, token, { partNumbers: partNumbers.slice(i, i + 4) });
    expect(signed.status).toBe(201);
    await Promise.all(
      signed.body.parts.map(async (part: { partNumber: number; url: string; headers: Record<string, string> }) => {
        const start = (part.partNumber - 1) * upload.partSize;
        const body = new Uint8Array(bytes.subarray(start, start + upload.partSize));
        const res = await fetch(part.url, { method: "PUT", headers: part.headers, body });
        await res.arrayBuffer();
        statuses.push(res.status);
      }),
    );
  }
  return statuses;
}

const consume = (who: { orgId: string; userId: string }, uploadId: string) =>
  stack.internal("consume", {
    uploadIds: [uploadId],
    ownerType: "exercise_comment",
    owner: { orgId: who.orgId, userId: who.userId },
    idempotencyKey: uniqueId("c"),
  });

/** Where a media upload's bytes go until consume: its announced (linked) key under staging/. */
const staged = (key: string) => `${STAGING_PREFIX}${key}`;

async function openMultipartUploads(key: string) {
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: stack.buckets.media, Prefix: key }));
  return (listed.Uploads ?? []).map((upload) => upload.Key);
}

describe("multipart uploads over HTTP", () => {
  it("a 70 MiB video sent in parts is byte-identical after completion and consumes like a single PUT", async () => {
    const who = await member();
    const bytes = video(70 * MiB);

    const upload = await presignVideo(who.token, bytes.length);
    expect(upload).toEqual({
      uploadId: expect.stringMatching(/^[0-9a-f]{32}$/),
      key: `${who.orgId}/exercise_comment/${who.userId}/${upload.uploadId}.mp4`,
      mode: "multipart",
      partSize: 5 * MiB,
      partCount: 14,
    });
    expect((await stack.internal("usage", { orgId: who.orgId })).body).toMatchObject({ reserved: bytes.length });
    const notYet = await consume(who, upload.uploadId);
    expect(notYet).toEqual({ status: 409, body: errorBody("NOT_UPLOADED") });

    const statuses = await sendParts(
      who.token,
      upload,
      bytes,
      Array.from({ length: 14 }, (_, i) => i + 1),
    );
    expect(statuses).toEqual(Array(14).fill(200));
    const completed = await request("POST", `/uploads/${upload.uploadId}/complete`, who.token, {});

    expect(completed).toEqual({ status: 200, body: { uploadId: upload.uploadId, key: upload.key, size: bytes.length } });
    const object = await s3.send(new GetObjectCommand({ Bucket: stack.buckets.media, Key: staged(upload.key) }));
    expect(object.ContentType).toBe("video/mp4");
    expect(sha256(await object.Body!.transformToByteArray())).toBe(sha256(bytes));
    const consumed = await consume(who, upload.uploadId);
    expect(consumed.status).toBe(200);
    expect(consumed.body.uploads[0]).toMatchObject({ uploadId: upload.uploadId, key: upload.key, size: bytes.length, contentType: "video/mp4" });
    // Promoted: the assembled object was copied to its linked key, and its staged copy is gone.
    const linked = await s3.send(new GetObjectCommand({ Bucket: stack.buckets.media, Key: upload.key }));
    expect([linked.ContentType, sha256(await linked.Body!.transformToByteArray())]).toEqual(["video/mp4", sha256(bytes)]);
    await expect(s3.send(new GetObjectCommand({ Bucket: stack.buckets.media, Key: staged(upload.key) }))).rejects.toMatchObject({ name: "NoSuchKey" });
    expect((await stack.internal("usage", { orgId: who.orgId })).body).toMatchObject({ used: bytes.length, reserved: 0 });
  }, 60_000);

  it("storage refuses a part of another length than the one signed", async () => {
    const who = await member();
    const upload = await presignVideo(who.token, 12 * MiB, { multipart: true });
    const signed = await request("POST", `/uploads/${upload.uploadId}/parts`, who.token, { partNumbers: [1] });
    const part = signed.body.parts[0];
    expect(part.headers).toEqual({ "content-length": String(5 * MiB) });

    const res = await fetch(part.url, { method: "PUT", body: new Uint8Array(5 * MiB + 1) });

    expect(res.status).toBe(403);
    expect(await res.text()).toContain("SignatureDoesNotMatch");
    expect(await request("GET", `/uploads/${upload.uploadId}/parts`, who.token)).toEqual({ status: 200, body: { parts: [] } });
  });

  it("completion with a part missing is NOT_UPLOADED, naming the missing parts; resume sends only those", async () => {
    const who = await member();
    const bytes = video(16 * MiB);
    const upload = await presignVideo(who.token, bytes.length, { multipart: true });
    expect(upload.partCount).toBe(4);
    await sendParts(who.token, upload, bytes, [1, 3]);

    const early = await request("POST", `/uploads/${upload.uploadId}/complete`, who.token, {});
    expect(early).toEqual({ status: 409, body: errorBody("NOT_UPLOADED") });
    expect(early.body.error.details).toEqual([{ missingPartNumbers: [2, 4] }]);

    // After a crash the client knows only the upload id: storage says what it holds.
    const listed = await request("GET", `/uploads/${upload.uploadId}/parts`, who.token);
    expect(listed.body.parts.map((p: { partNumber: number; size: number }) => [p.partNumber, p.size])).toEqual([
      [1, 5 * MiB],
      [3, 5 * MiB],
    ]);
    const have = new Set(listed.body.parts.map((p: { partNumber: number }) => p.partNumber));
    const missing = [1, 2, 3, 4].filter((n) => !have.has(n));
    expect(missing).toEqual([2, 4]);
    await sendParts(who.token, upload, bytes, missing);
    const completed = await request("POST", `/uploads/${upload.uploadId}/complete`, who.token, {});

    expect(completed.status).toBe(200);
    const object = await s3.send(new GetObjectCommand({ Bucket: stack.buckets.media, Key: staged(upload.key) }));
    expect(sha256(await object.Body!.transformToByteArray())).toBe(sha256(bytes));
  });

  it("two concurrent completes produce one object and both answer it", async () => {
    const who = await member();
    const bytes = video(11 * MiB);
    const upload = await presignVideo(who.token, bytes.length, { multipart: true });
    await sendParts(who.token, upload, bytes, [1, 2, 3]);

    const [a, b] = await Promise.all([
      request("POST", `/uploads/${upload.uploadId}/complete`, who.token, {}),
      request("POST", `/uploads/${upload.uploadId}/complete`, who.token, {}),
    ]);

    const done = { status: 200, body: { uploadId: upload.uploadId, key: upload.key, size: bytes.length } };
    expect([a, b]).toEqual([done, done]);
    expect(await openMultipartUploads(staged(upload.key))).toEqual([]);
    expect((await consume(who, upload.uploadId)).status).toBe(200);
  });

  it("only the uploader may sign, list, complete or cancel", async () => {
    const who = await member();
    const other = { ...(await member()), orgId: who.orgId };
    other.token = await stack.token({ userId: other.userId, orgId: who.orgId, role: "member" });
    const upload = await presignVideo(who.token, 6 * MiB, { multipart: true });

    expect(await request("POST", `/uploads/${upload.uploadId}/parts`, other.token, { partNumbers: [1] })).toEqual({
      status: 404,
      body: errorBody("NOT_FOUND"),
    });
    expect(await request("GET", `/uploads/${upload.uploadId}/parts`, other.token)).toEqual({ status: 404, body: errorBody("NOT_FOUND") });
    expect(await request("POST", `/uploads/${upload.uploadId}/complete`, other.token, {})).toEqual({ status: 404, body: errorBody("NOT_FOUND") });
    expect(await request("DELETE", `/uploads/${upload.uploadId}`, other.token)).toEqual({ status: 404, body: errorBody("NOT_FOUND") });
    expect(await request("POST", `/uploads/${upload.uploadId}/parts`, who.token, { partNumbers: [3] })).toEqual({
      status: 400,
      body: errorBody("INVALID_REQUEST"),
    });
    expect(await request("GET", "/uploads/not-an-id/parts", who.token)).toEqual({ status: 400, body: errorBody("INVALID_REQUEST") });
  });

  it("cancel aborts the multipart upload and gives the reservation back at once; consume is then NOT_FOUND", async () => {
    const who = await member();
    const bytes = video(10 * MiB);
    const upload = await presignVideo(who.token, bytes.length, { multipart: true });
    await sendParts(who.token, upload, bytes, [1]);
    expect(await openMultipartUploads(staged(upload.key))).toEqual([staged(upload.key)]);

    const cancelled = await request("DELETE", `/uploads/${upload.uploadId}`, who.token);

    expect(cancelled).toEqual({ status: 204, body: null });
    expect((await stack.internal("usage", { orgId: who.orgId })).body).toMatchObject({ used: 0, reserved: 0 });
    expect(await openMultipartUploads(staged(upload.key))).toEqual([]);
    expect((await consume(who, upload.uploadId)).status).toBe(404);
  });

  it("cancel of a single-PUT upload deletes its object and gives the reservation back", async () => {
    const who = await member();
    const bytes = video(1024);
    const upload = await presignVideo(who.token, bytes.length);
    expect(upload.mode).toBe("single");
    expect((await fetch(upload.url, { method: "PUT", headers: upload.headers, body: new Uint8Array(bytes) })).status).toBe(200);

    expect(await request("DELETE", `/uploads/${upload.uploadId}`, who.token)).toEqual({ status: 204, body: null });

    expect((await stack.internal("usage", { orgId: who.orgId })).body).toMatchObject({ used: 0, reserved: 0 });
    await expect(s3.send(new GetObjectCommand({ Bucket: stack.buckets.media, Key: staged(upload.key) }))).rejects.toMatchObject({ name: "NoSuchKey" });
  });

  it("the sweeper aborts a multipart upload abandoned past its deadline and gives its reservation back", async () => {
    const who = await member();
    const bytes = video(10 * MiB);
    const upload = await presignVideo(who.token, bytes.length, { multipart: true });
    await sendParts(who.token, upload, bytes, [1]);
    await sleep(TTL_SECONDS * 1000 + 500);

    const swept = await stack.internal("sweeper", {});

    expect(swept.status).toBe(200);
    expect(await openMultipartUploads(staged(upload.key))).toEqual([]);
    expect((await stack.internal("usage", { orgId: who.orgId })).body).toMatchObject({ used: 0, reserved: 0 });
    expect(await request("POST", `/uploads/${upload.uploadId}/parts`, who.token, { partNumbers: [2] })).toEqual({ status: 410, body: errorBody("EXPIRED") });
  }, 30_000);
});
