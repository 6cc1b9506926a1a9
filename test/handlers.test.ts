/**
 * The deployed handlers, called as Lambda calls them (API Gateway v2 events, invoke payloads),
 * configured through SST links, on real parts: Clerk verification of tokens signed by a key made
 * here, a real redis-server through ioredis, and the SigV4-checking S3 server.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevTokenOptions, generateDevKeyPair, signDevToken } from "../local/dev-auth.js";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { resourceVariables } from "../local/env.js";
import { pngImage } from "../support/media.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { uniqueId } from "./support/fixtures.js";
import { putPresigned } from "./support/http.js";

const APP_ORIGIN = "https://app.fitkit.test";
const key = generateDevKeyPair();
const otherKey = generateDevKeyPair();
let redis: RedisServer;
let admin: Redis;
let s3: EmbeddedS3;
let presign: typeof import("../functions/presign.js").handler;
let signedUrls: typeof import("../functions/signed-urls.js").handler;
let consume: typeof import("../functions/consume.js").handler;

beforeAll(async () => {
  redis = await startRedisServer();
  admin = new Redis(redis.url);
  s3 = await startEmbeddedS3({ directory: await mkdtemp(join(tmpdir(), "fitkit-s3-")), buckets: ["media-h", "compliance-h", "records-h"] });
  const r2 = { endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region };
  Object.assign(
    process.env,
    resourceVariables({
      MediaBucket: { name: "media-h" },
      ComplianceBucket: { name: "compliance-h" },
      RecordsBucket: { name: "records-h" },
      // One key pair serves every token name: the embedded server knows only one (R2 scopes each to its bucket).
      R2MediaWriter: r2,
      R2ComplianceWriter: r2,
      R2RecordsWriter: r2,
      R2Reader: r2,
      R2MediaReader: r2,
      Redis: { url: redis.url },
      Clerk: { jwtKey: key.publicKeyPem, authorizedParties: APP_ORIGIN },
      UploadSettings: {},
      MediaQueue: { kind: "in-process" },
    }),
  );
  ({ handler: presign } = await import("../functions/presign.js"));
  ({ handler: signedUrls } = await import("../functions/signed-urls.js"));
  ({ handler: consume } = await import("../functions/consume.js"));
});
afterAll(async () => {
  admin?.disconnect();
  await redis?.close();
  await s3?.close();
});

const context = { awsRequestId: "req-1", functionName: "test", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

function httpEvent(path: string, body: unknown, token?: string): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: `POST ${path}`,
    rawPath: path,
    rawQueryString: "",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    requestContext: { http: { method: "POST", path, sourceIp: "127.0.0.1" }, requestId: "r" } as APIGatewayProxyEventV2["requestContext"],
    body: typeof body === "string" ? body : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

async function call(handler: typeof presign, path: string, body: unknown, token?: string) {
  const result = await handler(httpEvent(path, body, token), context);
  return { status: result.statusCode, headers: result.headers, body: JSON.parse(String(result.body)) };
}

const token = (options: Partial<DevTokenOptions> = {}) =>
  signDevToken(key.privateKeyPem, { userId: uniqueId("user"), orgId: uniqueId("org"), role: "member", azp: APP_ORIGIN, ...options });
const onePhoto = { ownerType: "progress_photo", files: [{ contentType: "image/png", size: 68 }] };

describe("Clerk authentication on the HTTP handlers", () => {
  it("accepts v2 organisation claims (o.id, o.rol)", async () => {
    const res = await call(presign, "/uploads", onePhoto, await token({ claims: "v2" }));
    expect(res.status).toBe(201);
    expect(res.headers).toMatchObject({ "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  });

  it("accepts v1 organisation claims (org_id, org_role)", async () => {
    const res = await call(
      presign,
      "/uploads",
      { ownerType: "organization_logo", files: [{ contentType: "image/png", size: 68 }] },
      await token({ claims: "v1", role: "admin" }),
    );
    expect(res.status).toBe(201);
  });

  it.each([
    ["missing", async () => undefined],
    ["expired", () => token({ issuedOffsetSeconds: -7200, expiresInSeconds: 60 })],
    ["forged (signed by another key)", () => signDevToken(otherKey.privateKeyPem, { userId: "user_f", orgId: "org_f", azp: APP_ORIGIN })],
    ["from an unauthorised party (azp)", () => token({ azp: "https://evil.example" })],
    ["pending-session (a task such as a password reset still to do)", () => token({ sessionStatus: "pending" })],
    ["malformed", async () => "abc.def.ghi"],
  ])("refuses a %s token with 401 UNAUTHENTICATED", async (_name, makeToken) => {
    const res = await call(presign, "/uploads", onePhoto, await makeToken());
    expect(res).toEqual({ status: 401, headers: expect.any(Object), body: { error: { code: "UNAUTHENTICATED", message: expect.any(String) } } });
  });

  it("authenticates a token without an active organisation but lets it upload nothing (403)", async () => {
    const res = await call(presign, "/uploads", onePhoto, await signDevToken(key.privateKeyPem, { userId: "user_solo", azp: APP_ORIGIN }));
    expect(res).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN" } } });
  });

  it("signed-urls authorises by role: coach of the same org may read a member's progress photo, another org's admin may not", async () => {
    const orgId = uniqueId("org");
    const owner = await token({ orgId });
    const presigned = await call(presign, "/uploads", onePhoto, owner);
    const objectKey = presigned.body.uploads[0].key;

    const coach = await call(signedUrls, "/uploads/signed-urls", { keys: [objectKey] }, await token({ orgId, role: "coach" }));
    const otherAdmin = await call(signedUrls, "/uploads/signed-urls", { keys: [objectKey] }, await token({ role: "admin" }));

    expect(coach.status).toBe(200);
    // Authorised, but a photo that was never linked (and processed) has no copy to sign.
    expect(coach.body.urls[0]).toEqual({ key: objectKey, status: "failed", code: "NOT_LINKED" });
    expect(otherAdmin).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN" } } });
  });
});

describe("internal consume over Lambda invoke", () => {
  it("returns errors as an { error } object instead of throwing", async () => {
    const result = await consume({ uploadIds: [], ownerType: "message" }, context);
    expect(result).toEqual({
      error: { code: "INVALID_REQUEST", message: expect.any(String), details: expect.arrayContaining([{ path: "uploadIds", message: expect.any(String) }]) },
    });
  });
});

describe("Redis unreachable", () => {
  it("presign and consume answer 503 DEPENDENCY_UNAVAILABLE and nothing is staged or consumed half-way", async () => {
    const orgId = uniqueId("org");
    const userId = uniqueId("user");
    const session = await token({ orgId, userId });
    const bytes = pngImage();
    const upload = (await call(presign, "/uploads", { ownerType: "progress_photo", files: [{ contentType: "image/png", size: bytes.length }] }, session)).body
      .uploads[0];
    expect((await putPresigned(upload, bytes)).status).toBe(200);
    const consumeRequest = { uploadIds: [upload.uploadId], ownerType: "progress_photo", owner: { orgId, userId }, idempotencyKey: "e1" };
    // Keep what Redis holds now, then take it away.
    await admin.save();
    await redis.stop();

    const presignDown = await call(presign, "/uploads", onePhoto, session);
    const consumeDown = await consume(consumeRequest, context);

    expect(presignDown).toMatchObject({ status: 503, body: { error: { code: "DEPENDENCY_UNAVAILABLE" } } });
    expect(JSON.stringify(presignDown.body)).not.toMatch(/ECONNREFUSED|stack/i);
    expect(consumeDown).toEqual({ error: { code: "DEPENDENCY_UNAVAILABLE", message: expect.any(String) } });

    await redis.start();
    await admin.ping();
    expect(await admin.hgetall(`{fku}:quota:${orgId}`)).toEqual({ reserved: String(bytes.length), [`inflight:${userId}`]: String(bytes.length) });
    const consumed = await consume(consumeRequest, context);
    expect(consumed).toMatchObject({ uploads: [{ uploadId: upload.uploadId, size: bytes.length }] });
  });
});

describe("the orphan-audit function", () => {
  it("a scheduled run only reports; an invoke takes `delete` and refuses anything else with INVALID_REQUEST", async () => {
    const { handler } = await import("../functions/orphan-audit.js");
    const { SCHEDULED_EVENT } = await import("../functions/lib/scheduled-event.js");

    const scheduled = await handler(SCHEDULED_EVENT, context);
    const refused = await handler({ delete: "yes" }, context);

    expect(scheduled).toMatchObject({ deleteRequested: false, deleted: 0, buckets: [{ bucket: "media-h" }, { bucket: "compliance-h" }] });
    expect(refused).toMatchObject({ error: { code: "INVALID_REQUEST" } });
  });
});
