/**
 * End to end over HTTP against the local stack as `npm start` runs it: presign → PUT straight to
 * the SigV4-checking S3 server → consume → signed URL → GET the same bytes; and the error rows of
 * docs/API.md this pipeline produces, each with the error body shape.
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { STAGING_PREFIX } from "@fitkit/core/policies/object-keys";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { mp4Bytes, pngImage } from "../support/media.js";
import { sleep, uniqueId } from "./support/fixtures.js";
import { errorBody, putPresigned } from "./support/http.js";
// Every reply of the API in this file is checked against docs/openapi.json (status and body).
import { documentedInternal, expectDocumentedReply, documentedPostJson as postJson } from "./support/openapi.js";

const TTL_SECONDS = 6;
const MiB = 1024 * 1024;
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    PRESIGN_TTL_SECONDS: String(TTL_SECONDS),
    STAGING_GRACE_SECONDS: "0",
    ORG_QUOTA_BYTES: String(30 * MiB),
    USER_IN_FLIGHT_BYTES: String(25 * MiB),
    PRESIGN_RATE_PER_MINUTE: "5",
  });
}, 90_000);
afterAll(() => stack?.close());

const internal = (name: string, payload: unknown) => documentedInternal(stack, name, payload);

async function member(role = "member") {
  const userId = uniqueId("user");
  const orgId = uniqueId("org");
  return { userId, orgId, token: await stack.token({ userId, orgId, role }) };
}

async function presignOne(token: string, file: { contentType: string; size: number }, ownerType = "progress_photo") {
  return postJson(`${stack.api}/uploads`, { ownerType, files: [file] }, token);
}

describe("the staged upload over HTTP", () => {
  it("presign → PUT → consume → signed URL → GET returns the same picture, processed", async () => {
    const who = await member();
    const bytes = pngImage(3, 2);

    const presigned = await presignOne(who.token, { contentType: "image/png", size: bytes.length });
    expect(presigned.status).toBe(201);
    const upload = presigned.body.uploads[0];
    expect(upload).toEqual({
      uploadId: expect.stringMatching(/^[0-9a-f]{32}$/),
      key: `${who.orgId}/progress_photo/${who.userId}/${upload.uploadId}.png`,
      mode: "single",
      method: "PUT",
      // Staged under staging/ (which the bucket's lifecycle expires); `key` is where consume links it.
      url: expect.stringContaining(`${stack.s3}/${stack.buckets.media}/${STAGING_PREFIX}${upload.key}?`),
      headers: { "content-type": "image/png", "content-length": String(bytes.length), "if-none-match": "*" },
      expiresAt: expect.any(String),
    });
    expect((await putPresigned(upload, bytes)).status).toBe(200);
    const stagedObject = upload.url.replace(/\?.*/, "");
    const linkedObject = `${stack.s3}/${stack.buckets.media}/${upload.key}`;
    expect([(await fetch(stagedObject, { method: "HEAD" })).status, (await fetch(linkedObject, { method: "HEAD" })).status]).toEqual([200, 404]);

    const consumed = await internal("consume", {
      uploadIds: [upload.uploadId],
      ownerType: "progress_photo",
      owner: { orgId: who.orgId, userId: who.userId },
      idempotencyKey: "entry-1",
    });
    expect(consumed).toEqual({
      status: 200,
      body: {
        uploads: [
          { uploadId: upload.uploadId, bucket: stack.buckets.media, key: upload.key, contentType: "image/png", size: bytes.length, etag: expect.any(String) },
        ],
      },
    });
    // Promoted: copied to the announced key, and the staged copy deleted.
    expect([(await fetch(stagedObject, { method: "HEAD" })).status, (await fetch(linkedObject, { method: "HEAD" })).status]).toEqual([404, 200]);

    // Processed in the background: asked again until ready, then served from the processed copy.
    let signed = await postJson(`${stack.api}/uploads/signed-urls`, { keys: [upload.key], expiresIn: 900 }, who.token);
    for (let i = 0; signed.body.urls?.[0]?.status === "processing" && i < 80; i++) {
      await sleep(250);
      signed = await postJson(`${stack.api}/uploads/signed-urls`, { keys: [upload.key], expiresIn: 900 }, who.token);
    }
    expect(signed.status).toBe(200);
    expect(signed.body.urls[0]).toMatchObject({ key: upload.key, status: "ready", width: 3, height: 2, placeholder: expect.any(String) });
    expect(signed.body.urls[0].url).toContain("/variants/");
    const download = await fetch(signed.body.urls[0].url);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("image/png");
    expect(
      await sharp(Buffer.from(await download.arrayBuffer()))
        .raw()
        .toBuffer(),
    ).toEqual(await sharp(bytes).raw().toBuffer());

    // The same key and expiresIn within the window give the identical URL (the window is a time
    // bucket; if the two calls straddled its edge, the next call must match the second).
    let previous = signed.body.urls;
    let again = (await postJson(`${stack.api}/uploads/signed-urls`, { keys: [upload.key], expiresIn: 900 }, who.token)).body.urls;
    if (again[0].expiresAt !== previous[0].expiresAt) {
      previous = again;
      again = (await postJson(`${stack.api}/uploads/signed-urls`, { keys: [upload.key], expiresIn: 900 }, who.token)).body.urls;
    }
    expect(again).toEqual(previous);
  });

  it("replays a consume under the same idempotency key and refuses another key with 409 ALREADY_CONSUMED", async () => {
    const who = await member();
    const bytes = pngImage();
    const upload = (await presignOne(who.token, { contentType: "image/png", size: bytes.length })).body.uploads[0];
    await putPresigned(upload, bytes);
    const request = { uploadIds: [upload.uploadId], ownerType: "progress_photo", owner: { orgId: who.orgId, userId: who.userId }, idempotencyKey: "k" };

    const first = await internal("consume", request);
    const replay = await internal("consume", request);
    const other = await internal("consume", { ...request, idempotencyKey: "other" });

    expect(first.status).toBe(200);
    expect(replay).toEqual(first);
    expect(other.status).toBe(409);
    expect(other.body).toEqual({
      error: { code: "ALREADY_CONSUMED", message: expect.any(String), details: [{ uploadId: upload.uploadId, code: "ALREADY_CONSUMED" }] },
    });
  });

  it("set-quota overrides the quota usage reports; release deletes a linked video and gives its bytes back, once", async () => {
    const who = await member();
    const bytes = mp4Bytes();
    const upload = (await presignOne(who.token, { contentType: "video/mp4", size: bytes.length }, "exercise_comment")).body.uploads[0];
    await putPresigned(upload, bytes);
    const owner = { orgId: who.orgId, userId: who.userId };
    expect((await internal("consume", { uploadIds: [upload.uploadId], ownerType: "exercise_comment", owner, idempotencyKey: "k" })).status).toBe(200);

    const quota = await internal("set-quota", { orgId: who.orgId, quotaBytes: 50 * MiB });
    const before = await internal("usage", { orgId: who.orgId });
    const released = await internal("release", { orgId: who.orgId, keys: [upload.key] });
    const again = await internal("release", { orgId: who.orgId, keys: [upload.key] });
    const after = await internal("usage", { orgId: who.orgId });

    expect(quota).toEqual({ status: 200, body: { orgId: who.orgId, quota: 50 * MiB } });
    expect(before.body).toEqual({ used: bytes.length, reserved: 0, quota: 50 * MiB });
    expect(released).toEqual({ status: 200, body: { released: 1, bytes: bytes.length } });
    expect(again).toEqual({ status: 200, body: { released: 0, bytes: 0 } });
    expect(after.body).toEqual({ used: 0, reserved: 0, quota: 50 * MiB });
    expect((await fetch(upload.url.replace(/\?.*/, ""), { method: "HEAD" })).status).toBe(404);
  });

  it("a presign retried with the same idempotency key answers the same uploads and reserves nothing more", async () => {
    const who = await member();
    const bytes = pngImage();
    const request = { ownerType: "progress_photo", files: [{ contentType: "image/png", size: bytes.length }], idempotencyKey: "batch-1" };

    const first = await postJson(`${stack.api}/uploads`, request, who.token);
    const retry = await postJson(`${stack.api}/uploads`, request, who.token);
    const otherUser = await member();
    const sameKeyOtherUser = await postJson(`${stack.api}/uploads`, request, otherUser.token);

    expect([first.status, retry.status, sameKeyOtherUser.status]).toEqual([201, 201, 201]);
    expect(retry.body).toEqual(first.body);
    expect(sameKeyOtherUser.body.uploads[0].uploadId).not.toBe(first.body.uploads[0].uploadId);
    expect(await internal("usage", { orgId: who.orgId })).toMatchObject({ status: 200, body: { reserved: bytes.length } });
    // The replayed URL is as good as the first: the upload completes.
    expect((await putPresigned(retry.body.uploads[0], bytes)).status).toBe(200);
    const consumed = await internal("consume", {
      uploadIds: [first.body.uploads[0].uploadId],
      ownerType: "progress_photo",
      owner: { orgId: who.orgId, userId: who.userId },
      idempotencyKey: "entry-1",
    });
    expect(consumed.status).toBe(200);
  });

  it("400 INVALID_REQUEST for an idempotency key reused with other files", async () => {
    const who = await member();
    const request = { ownerType: "progress_photo", files: [{ contentType: "image/png", size: 100 }], idempotencyKey: "batch-2" };
    expect((await postJson(`${stack.api}/uploads`, request, who.token)).status).toBe(201);

    const other = await postJson(`${stack.api}/uploads`, { ...request, files: [{ contentType: "image/png", size: 101 }] }, who.token);

    expect(other.status).toBe(400);
    expect(other.body).toEqual({
      error: { code: "INVALID_REQUEST", message: expect.any(String), details: [{ path: "idempotencyKey", message: "already used for a different request" }] },
    });
    expect(await internal("usage", { orgId: who.orgId })).toMatchObject({ status: 200, body: { reserved: 100 } });
  });

  it("storage refuses a body of another length or type than presign signed", async () => {
    const who = await member();
    const bytes = pngImage();
    const upload = (await presignOne(who.token, { contentType: "image/png", size: bytes.length })).body.uploads[0];

    const longer = await fetch(upload.url, {
      method: "PUT",
      headers: { ...upload.headers, "content-length": String(bytes.length + 1) },
      body: Buffer.concat([bytes, Buffer.from([0])]) as BodyInit,
    });
    const otherType = await fetch(upload.url, { method: "PUT", headers: { ...upload.headers, "content-type": "text/html" }, body: bytes as BodyInit });

    expect(longer.status).toBeGreaterThanOrEqual(400);
    expect(otherType.status).toBeGreaterThanOrEqual(400);
    const consume = await internal("consume", {
      uploadIds: [upload.uploadId],
      ownerType: "progress_photo",
      owner: { orgId: who.orgId, userId: who.userId },
      idempotencyKey: "x",
    });
    expect(consume.status).toBe(409);
    expect(consume.body).toEqual(errorBody("NOT_UPLOADED"));
  });
});

describe("error rows of the contract, over HTTP", () => {
  it("400 INVALID_REQUEST for malformed JSON and for a schema violation, listing the fields", async () => {
    const who = await member();
    const malformed = await postJson(`${stack.api}/uploads`, "{not json", who.token);
    const schema = await postJson(`${stack.api}/uploads`, { ownerType: "selfie", files: [{ contentType: "image/png", size: 0 }] }, who.token);

    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual(errorBody("INVALID_REQUEST"));
    expect(schema.status).toBe(400);
    expect(schema.body.error.code).toBe("INVALID_REQUEST");
    expect(schema.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(["files.0.size", "ownerType"]);

    const loneSurrogate = await postJson(
      `${stack.api}/uploads`,
      { ownerType: "message", files: [{ contentType: "image/png", size: 10, fileName: "a\ud800b" }] },
      who.token,
    );
    expect(loneSurrogate.status).toBe(400);
    expect(loneSurrogate.body.error.details).toEqual([{ path: "files.0.fileName", message: "must be well-formed Unicode text" }]);
  });

  it("401 UNAUTHENTICATED without a token, with a forged one and with an expired one", async () => {
    const who = await member();
    const forged = `${who.token.slice(0, -4)}AAAA`;
    const expired = await stack.token({ userId: "user_x", orgId: "org_x", issuedOffsetSeconds: -7200, expiresInSeconds: 60 });
    const file = { contentType: "image/png", size: 10 };

    for (const token of [undefined, forged, expired, "not-a-jwt"]) {
      const res = await presignOne(token as string, file);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(errorBody("UNAUTHENTICATED"));
    }
  });

  it("403 FORBIDDEN without an active organisation, for a role the owner type excludes, and for form signatures", async () => {
    const noOrg = await stack.token({ userId: "user_lonely" });
    const memberToken = (await member("member")).token;

    const responses = [
      await presignOne(noOrg, { contentType: "image/png", size: 10 }),
      await presignOne(memberToken, { contentType: "image/png", size: 10 }, "organization_logo"),
      await presignOne((await member("admin")).token, { contentType: "image/png", size: 10 }, "form_signature"),
    ];
    for (const res of responses) {
      expect(res.status).toBe(403);
      expect(res.body).toEqual(errorBody("FORBIDDEN"));
    }
  });

  it("403 FORBIDDEN on signed-urls when any key is not readable, and no URL is returned", async () => {
    const owner = await member();
    const upload = (await presignOne(owner.token, { contentType: "image/png", size: 10 })).body.uploads[0];
    const sameOrgMember = await stack.token({ userId: uniqueId("user"), orgId: owner.orgId, role: "member" });
    const sameOrgCoach = await stack.token({ userId: uniqueId("user"), orgId: owner.orgId, role: "coach" });

    const denied = await postJson(`${stack.api}/uploads/signed-urls`, { keys: [upload.key] }, sameOrgMember);
    const mixed = await postJson(`${stack.api}/uploads/signed-urls`, { keys: [upload.key, "../../etc/passwd"] }, owner.token);
    const coach = await postJson(`${stack.api}/uploads/signed-urls`, { keys: [upload.key] }, sameOrgCoach);

    expect(denied).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN", details: [{ index: 0 }] } } });
    expect(mixed).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN", details: [{ index: 1 }] } } });
    expect(mixed.body.urls).toBeUndefined();
    expect(coach.status).toBe(200);
  });

  it("403 QUOTA_EXCEEDED past the organisation's quota, with the remaining bytes", async () => {
    const who = await member("admin");
    const big = { contentType: "video/mp4", size: 20 * 1024 * 1024 };
    expect((await presignOne(who.token, big, "exercise_comment")).status).toBe(201);

    const over = await presignOne(who.token, big, "exercise_comment");

    expect(over.status).toBe(403);
    expect(over.body).toEqual({
      error: {
        code: "QUOTA_EXCEEDED",
        message: expect.any(String),
        details: [{ limit: "org_quota", remainingBytes: 10 * MiB, requestedBytes: big.size, limitBytes: 30 * MiB }],
      },
    });
  });

  it("403 QUOTA_EXCEEDED with limit user_in_flight past one member's bytes in flight, while an admin of the org still uploads", async () => {
    const orgId = uniqueId("org");
    const hoarder = await stack.token({ userId: uniqueId("user"), orgId, role: "member" });
    const admin = await stack.token({ userId: uniqueId("user"), orgId, role: "admin" });
    expect((await presignOne(hoarder, { contentType: "video/mp4", size: 20 * MiB }, "exercise_comment")).status).toBe(201);

    const over = await presignOne(hoarder, { contentType: "video/mp4", size: 6 * MiB }, "exercise_comment");
    const logo = await presignOne(admin, { contentType: "image/png", size: 2 * MiB }, "organization_logo");

    expect(over.status).toBe(403);
    expect(over.body).toEqual({
      error: {
        code: "QUOTA_EXCEEDED",
        message: expect.any(String),
        details: [{ limit: "user_in_flight", remainingBytes: 5 * MiB, requestedBytes: 6 * MiB, limitBytes: 25 * MiB }],
      },
    });
    expect(logo.status).toBe(201);
    expect(await internal("usage", { orgId })).toMatchObject({ status: 200, body: { used: 0, reserved: 22 * MiB } });
  });

  it("404 NOT_FOUND for an unknown upload id, and 404 for an unknown route", async () => {
    const consume = await internal("consume", {
      uploadIds: ["0".repeat(32)],
      ownerType: "message",
      owner: { orgId: "org_1", userId: "user_1" },
      idempotencyKey: "k",
    });
    const route = await fetch(`${stack.api}/nope`);

    expect(consume.status).toBe(404);
    expect(consume.body).toEqual(errorBody("NOT_FOUND"));
    expect(route.status).toBe(404);
    expect(await route.json()).toEqual(errorBody("NOT_FOUND"));
  });

  it("410 EXPIRED when consume comes after the staging deadline", async () => {
    const who = await member();
    const bytes = pngImage();
    const upload = (await presignOne(who.token, { contentType: "image/png", size: bytes.length })).body.uploads[0];
    await putPresigned(upload, bytes);
    await sleep(TTL_SECONDS * 1000 + 200);

    const late = await internal("consume", {
      uploadIds: [upload.uploadId],
      ownerType: "progress_photo",
      owner: { orgId: who.orgId, userId: who.userId },
      idempotencyKey: "late",
    });

    expect(late.status).toBe(410);
    expect(late.body).toEqual(errorBody("EXPIRED"));
  });

  it("413 TOO_LARGE and 415 UNSUPPORTED_MEDIA_TYPE, and nothing of the batch is staged", async () => {
    const who = await member("admin");
    const tooLarge = await postJson(
      `${stack.api}/uploads`,
      {
        ownerType: "message",
        files: [
          { contentType: "image/png", size: 10 },
          { contentType: "image/png", size: 10 * 1024 * 1024 + 1 },
        ],
      },
      who.token,
    );
    const svg = await presignOne(who.token, { contentType: "image/svg+xml", size: 10 });
    const videoInMessage = await presignOne(who.token, { contentType: "video/mp4", size: 10 }, "message");

    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body).toEqual({
      error: { code: "TOO_LARGE", message: expect.any(String), details: [{ index: 1, code: "TOO_LARGE", maxBytes: 10 * 1024 * 1024 }] },
    });
    expect(svg.status).toBe(415);
    expect(videoInMessage.status).toBe(415);
    expect(await internal("usage", { orgId: who.orgId })).toMatchObject({ status: 200, body: { used: 0, reserved: 0 } });
  });

  it("422 CONTENT_MISMATCH when the stored object is not what was declared, and the object is deleted", async () => {
    const who = await member();
    const upload = (await presignOne(who.token, { contentType: "image/png", size: 100 })).body.uploads[0];
    // Storage itself cannot be made to store another length through the signed URL, so write it directly.
    const s3 = new S3Client({ endpoint: stack.s3, region: "auto", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
    await s3.send(new PutObjectCommand({ Bucket: stack.buckets.media, Key: `${STAGING_PREFIX}${upload.key}`, Body: pngImage(), ContentType: "image/png" }));

    const consume = await internal("consume", {
      uploadIds: [upload.uploadId],
      ownerType: "progress_photo",
      owner: { orgId: who.orgId, userId: who.userId },
      idempotencyKey: "m",
    });

    expect(consume.status).toBe(422);
    expect(consume.body).toEqual({
      error: { code: "CONTENT_MISMATCH", message: expect.any(String), details: [{ uploadId: upload.uploadId, code: "CONTENT_MISMATCH" }] },
    });
    const gone = await fetch(upload.url.replace(/\?.*/, ""), { method: "HEAD" });
    expect(gone.status).toBe(404);
  });

  it("429 RATE_LIMITED with Retry-After past the per-user presign rate", async () => {
    const who = await member();
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof presignOne>> | undefined;
    for (let i = 0; i < 6; i++) {
      last = await presignOne(who.token, { contentType: "image/png", size: 10 });
      statuses.push(last.status);
    }

    expect(statuses).toEqual([201, 201, 201, 201, 201, 429]);
    expect(last!.body).toEqual(errorBody("RATE_LIMITED"));
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("no malformed input from outside produces a 5xx: each is a 4xx with the error body", async () => {
    const who = await member("admin");
    const bodies: [string, string, unknown][] = [
      ["/uploads", "POST", null],
      ["/uploads", "POST", []],
      ["/uploads", "POST", '"just a string"'],
      ["/uploads", "POST", { ownerType: "message", files: [] }],
      ["/uploads", "POST", { ownerType: "message", files: Array(11).fill({ contentType: "image/png", size: 1 }) }],
      ["/uploads", "POST", { ownerType: "message", files: [{ contentType: "image/png", size: 1.5 }] }],
      ["/uploads", "POST", { ownerType: "message", files: [{ contentType: "image/png", size: 1e300 }] }],
      ["/uploads", "POST", { ownerType: "message", files: [{ contentType: "x".repeat(300), size: 1 }] }],
      ["/uploads", "POST", { ownerType: "message", files: [{ contentType: "image/png", size: 1, sha256: "nope" }] }],
      ["/uploads", "POST", { ownerType: "__proto__", files: [{ contentType: "image/png", size: 1 }] }],
      ["/uploads/signed-urls", "POST", { keys: [] }],
      ["/uploads/signed-urls", "POST", { keys: ["a"], expiresIn: 59 }],
      ["/uploads/signed-urls", "POST", { keys: ["a"], expiresIn: 604801 }],
      ["/uploads/signed-urls", "POST", { keys: ["\ud800/../x", "%00", "a".repeat(1025)] }],
      ["/internal/consume", "POST", { uploadIds: ["../../x"], ownerType: "message", owner: { orgId: "org 1" }, idempotencyKey: "" }],
      ["/internal/release", "POST", { keys: ["records/org_1/x.pdf"], orgId: "org_1" }],
      ["/internal/set-quota", "POST", { orgId: "org_1", quotaBytes: -1 }],
      ["/internal/issue-signature-token", "POST", { orgId: "org_1", formId: "f", submissionId: "s", ttlSeconds: 1 }],
      ["/internal/usage", "POST", "{"],
      ["/internal/erase-user", "POST", { orgId: "org_1", userId: "../x", idempotencyKey: "" }],
      ["/internal/erase-org", "POST", { orgId: "org_1", idempotencyKey: "k", cursor: "not-a-cursor" }],
      ["/internal/export-user", "POST", { orgId: "org_1", userId: "user_1", pageSize: 101 }],
    ];
    for (const [path, method, body] of bodies) {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        authorization: `Bearer ${who.token}`,
        "x-internal-key": stack.internalApiKey,
      };
      const res = await fetch(`${stack.api}${path}`, { method, headers, body: typeof body === "string" ? body : JSON.stringify(body) });
      const reply = await res.json();
      expect({ path, body, status: res.status < 500 && res.status >= 400 }).toEqual({ path, body, status: true });
      expectDocumentedReply(method, path, { status: res.status, body: reply });
      expect(reply).toEqual({ error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }) });
    }
  });

  it("internal routes need the internal key", async () => {
    const res = await fetch(`${stack.api}/internal/consume`, { method: "POST", body: "{}", headers: { "x-internal-key": "wrong" } });
    const reply = { status: res.status, body: await res.json() };
    expect(reply).toEqual({ status: 401, body: errorBody("UNAUTHENTICATED") });
    expectDocumentedReply("POST", "/internal/consume", reply);
  });
});
