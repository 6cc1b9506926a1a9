/**
 * @fitkit/uploads-sdk over the local stack's HTTP transport, against the local stack as `npm start`
 * runs it (the deployed handlers, the SigV4-checking S3 server, real Clerk verification of a dev
 * token): an app presigns and PUTs, the service links with the SDK, reads the usage and releases.
 * Then the transport's own failures, on a scripted server: retried with the same idempotency key.
 */

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createUploadsClient, httpTransport, type UploadsApiError } from "../sdk/src/index.js";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { mp4Bytes } from "../support/media.js";
import { uniqueId } from "./support/fixtures.js";
import { postJson, putPresigned } from "./support/http.js";
import { json, type ScriptedServer, startScriptedServer } from "./support/scripted-server.js";

const QUOTA_BYTES = 50 * 1024 * 1024;
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ ORG_QUOTA_BYTES: String(QUOTA_BYTES) });
}, 90_000);
afterAll(() => stack?.close());

const sdk = (internalKey = stack.internalApiKey) =>
  createUploadsClient({ transport: httpTransport({ baseUrl: `${stack.api}/`, internalKey }), retry: { retries: 2, minDelayMs: 1, maxDelayMs: 10 } });

const caught = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail("resolved"),
    (error: unknown) => error as UploadsApiError,
  );

const summary = (error: UploadsApiError) => ({ name: error.name, code: error.code, status: error.status, details: error.details });

/** What an app does: presign with the user's session token, then PUT the bytes to storage. */
/**
 * A video: an image would be processed in the background, and its variants' bytes join `used` at a
 * moment the test does not control.
 */
async function uploadAsApp(who: { userId: string; orgId: string }, bytes: Buffer) {
  const token = await stack.token({ ...who, role: "member" });
  const presigned = await postJson(`${stack.api}/uploads`, { ownerType: "exercise_comment", files: [{ contentType: "video/mp4", size: bytes.length }] }, token);
  expect(presigned.status).toBe(201);
  const upload = presigned.body.uploads[0] as { uploadId: string; key: string; url: string; headers: Record<string, string> };
  expect((await putPresigned(upload, bytes)).status).toBe(200);
  return upload;
}

describe("the SDK against the local stack", () => {
  it("presign → PUT → consume → usage → release, with the idempotency key the SDK made", async () => {
    const who = { userId: uniqueId("user"), orgId: uniqueId("org") };
    const bytes = mp4Bytes();
    const upload = await uploadAsApp(who, bytes);
    const uploads = sdk();

    const linked = await uploads.consume({ uploadIds: [upload.uploadId], ownerType: "exercise_comment", owner: who });
    expect(linked).toEqual({
      uploads: [
        { uploadId: upload.uploadId, bucket: stack.buckets.media, key: upload.key, contentType: "video/mp4", size: bytes.length, etag: expect.any(String) },
      ],
      idempotencyKey: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
    });
    // The key it returned replays the same reply (what the service stores for its own retries).
    expect(await uploads.consume({ uploadIds: [upload.uploadId], ownerType: "exercise_comment", owner: who, idempotencyKey: linked.idempotencyKey })).toEqual(
      linked,
    );
    expect(await uploads.usage({ orgId: who.orgId })).toEqual({ used: bytes.length, reserved: 0, quota: QUOTA_BYTES });

    expect(await uploads.release({ orgId: who.orgId, keys: [upload.key] })).toEqual({ released: 1, bytes: bytes.length });
    expect(await uploads.usage({ orgId: who.orgId })).toEqual({ used: 0, reserved: 0, quota: QUOTA_BYTES });
  });

  it("sets a quota and issues a signature link", async () => {
    const orgId = uniqueId("org");
    const uploads = sdk();

    expect(await uploads.setQuota({ orgId, quotaBytes: 1234 })).toEqual({ orgId, quota: 1234 });
    expect(await uploads.usage({ orgId })).toEqual({ used: 0, reserved: 0, quota: 1234 });
    const link = await uploads.issueSignatureToken({ orgId, formId: "form_1", submissionId: uniqueId("sub") });
    expect(link).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), path: `/public/signatures/${link.token}`, expiresAt: expect.any(String) });
  });

  it("exports a member's uploads, then erases them step by step: presign answers 409 ERASURE_IN_PROGRESS meanwhile, and the receipt is answered again", async () => {
    const who = { userId: uniqueId("user"), orgId: uniqueId("org") };
    const bytes = mp4Bytes();
    const upload = await uploadAsApp(who, bytes);
    const uploads = sdk();
    await uploads.consume({ uploadIds: [upload.uploadId], ownerType: "exercise_comment", owner: who });
    const inFlight = await uploadAsApp(who, bytes);

    const exported = await uploads.exportUser({ orgId: who.orgId, userId: who.userId });
    // A video is served only from its processed copies: these few bytes have none (yet, or ever), so no URL.
    expect(exported).toEqual({
      uploads: [
        expect.objectContaining({
          key: upload.key,
          ownerType: "exercise_comment",
          contentType: "video/mp4",
          size: bytes.length,
          status: expect.stringMatching(/^(processing|failed)$/),
        }),
      ],
      cursor: null,
    });
    expect(exported.uploads[0]).not.toHaveProperty("url");

    const first = await uploads.eraseUser({ ...who, idempotencyKey: "leaving", batchSize: 1, maxBatches: 1 });
    expect(first).toEqual({ status: "in_progress", cursor: expect.any(String), progress: expect.any(Object) });
    const token = await stack.token({ ...who, role: "member" });
    const refused = await postJson(`${stack.api}/uploads`, { ownerType: "exercise_comment", files: [{ contentType: "video/mp4", size: 10 }] }, token);
    expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 409, code: "ERASURE_IN_PROGRESS" });

    const done = await uploads.eraseUntilComplete({
      ...who,
      idempotencyKey: "leaving",
      batchSize: 1,
      maxBatches: 2,
      cursor: first.status === "in_progress" ? first.cursor : undefined,
    });
    expect(done.receipt).toMatchObject({
      orgId: who.orgId,
      userId: who.userId,
      // The linked video and the in-flight one whose bytes had landed.
      deleted: { exercise_comment: { uploads: 2, objects: 2, bytes: 2 * bytes.length } },
      retained: { objects: 0, items: [] },
    });
    expect(await uploads.eraseUser({ ...who, idempotencyKey: "leaving" })).toEqual(done);
    expect(await uploads.usage({ orgId: who.orgId })).toEqual({ used: 0, reserved: 0, quota: QUOTA_BYTES });
    expect(await uploads.exportUser({ orgId: who.orgId, userId: who.userId })).toEqual({ uploads: [], cursor: null });
    expect(inFlight.key).not.toBe(upload.key);
  });

  it("a bad consume is an UploadsApiError with the API's code, status and details", async () => {
    const who = { userId: uniqueId("user"), orgId: uniqueId("org") };
    const unknownId = "0".repeat(32);

    const unknown = await caught(sdk().consume({ uploadIds: [unknownId], ownerType: "progress_photo", owner: who }));
    const invalid = await caught(sdk().consume({ uploadIds: [], ownerType: "progress_photo", owner: who }));
    const notOurs = await caught(sdk("wrong-key").usage({ orgId: who.orgId }));

    expect(summary(unknown)).toEqual({ name: "UploadsApiError", code: "NOT_FOUND", status: 404, details: [{ uploadId: unknownId, code: "NOT_FOUND" }] });
    expect(summary(invalid)).toEqual({
      name: "UploadsApiError",
      code: "INVALID_REQUEST",
      status: 400,
      details: [{ path: "uploadIds", message: expect.any(String) }],
    });
    expect(summary(notOurs)).toEqual({ name: "UploadsApiError", code: "UNAUTHENTICATED", status: 401, details: undefined });
  });
});

describe("the HTTP transport's failures", () => {
  const servers: ScriptedServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it("a dropped connection and a 503 DEPENDENCY_UNAVAILABLE are retried with the same payload and idempotency key", async () => {
    const reply = { uploads: [] };
    const scripted = await startScriptedServer((_request, n) =>
      n === 0 ? "drop" : n === 1 ? json(503, { error: { code: "DEPENDENCY_UNAVAILABLE", message: "redis" } }) : json(200, reply),
    );
    servers.push(scripted);
    const uploads = createUploadsClient({ transport: httpTransport({ baseUrl: scripted.origin, internalKey: "k" }), retry: { retries: 2, minDelayMs: 1 } });

    const result = await uploads.consume({ uploadIds: ["a".repeat(32)], ownerType: "message", owner: { orgId: "org_1", userId: "user_1" } });

    const bodies = scripted.requests.map((request) => JSON.parse(request.body.toString()));
    expect(scripted.requests.map((request) => [request.method, request.url, request.headers["x-internal-key"]])).toEqual([
      ["POST", "/internal/consume", "k"],
      ["POST", "/internal/consume", "k"],
      ["POST", "/internal/consume", "k"],
    ]);
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
    expect(result).toEqual({ uploads: [], idempotencyKey: bodies[0].idempotencyKey });
  });

  it("a stack that cannot be reached is DEPENDENCY_UNAVAILABLE once the retries are spent", async () => {
    const scripted = await startScriptedServer(() => "drop");
    servers.push(scripted);
    const uploads = createUploadsClient({ transport: httpTransport({ baseUrl: scripted.origin, internalKey: "k" }), retry: { retries: 1, minDelayMs: 1 } });

    const error = await caught(uploads.usage({ orgId: "org_1" }));

    expect(summary(error)).toEqual({ name: "UploadsApiError", code: "DEPENDENCY_UNAVAILABLE", status: 503, details: [{ reason: "network error" }] });
    expect(scripted.requests).toHaveLength(2);
  });
});
