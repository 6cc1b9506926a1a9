/**
 * A stalled dependency — the process is alive and accepts connections but answers nothing
 * (SIGSTOP) — is answered with 503 DEPENDENCY_UNAVAILABLE within a few seconds, never a hang until
 * the function's timeout; the function's own early timeout is a 503 too, not a 500. After SIGCONT
 * the next call succeeds. Deployed handlers on real parts: redis-server (ioredis), the embedded
 * S3 server, and @upstash/redis through the bridge.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { createUpstashClient, UpstashDriver } from "@fitkit/core/adapters/redis/upstash-driver";
import { DependencyUnavailableError } from "@fitkit/core/errors";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDevKeyPair, signDevToken } from "../local/dev-auth.js";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { resourceVariables } from "../local/env.js";
import { whilePaused } from "../support/child-processes.js";
import { pngImage } from "../support/media.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.js";
import { newUpload, uniqueId } from "./support/fixtures.js";
import { putPresigned } from "./support/http.js";

const APP_ORIGIN = "https://app.fitkit.test";
/** The one setting under test: every storage and Redis call gives up after this long. */
const DEPENDENCY_TIMEOUT_MS = 1000;
/** Loose on purpose (a shared machine): far below the 20–60 s function timeouts a hang would reach. */
const BOUND_MS = 8000;
const key = generateDevKeyPair();
let redis: RedisServer;
let bridge: UpstashBridge;
let s3: EmbeddedS3;
let presign: typeof import("../functions/presign.js").handler;
let consume: typeof import("../functions/consume.js").handler;
let issueSignatureToken: typeof import("../functions/issue-signature-token.js").handler;
let publicSignaturePut: typeof import("../functions/public-signature-put.js").handler;

beforeAll(async () => {
  redis = await startRedisServer();
  bridge = await startUpstashBridge({ redisUrl: redis.url });
  s3 = await startEmbeddedS3({ directory: await mkdtemp(join(tmpdir(), "fitkit-s3-")), buckets: ["media-t", "compliance-t", "records-t"] });
  const r2 = { endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region };
  Object.assign(
    process.env,
    resourceVariables({
      MediaBucket: { name: "media-t" },
      ComplianceBucket: { name: "compliance-t" },
      RecordsBucket: { name: "records-t" },
      R2MediaWriter: r2,
      R2ComplianceWriter: r2,
      R2RecordsWriter: r2,
      R2Reader: r2,
      R2MediaReader: r2,
      Redis: { url: redis.url },
      Clerk: { jwtKey: key.publicKeyPem, authorizedParties: APP_ORIGIN },
      UploadSettings: { dependencyTimeoutMs: DEPENDENCY_TIMEOUT_MS },
      MediaQueue: { kind: "in-process" },
    }),
  );
  ({ handler: presign } = await import("../functions/presign.js"));
  ({ handler: consume } = await import("../functions/consume.js"));
  ({ handler: issueSignatureToken } = await import("../functions/issue-signature-token.js"));
  ({ handler: publicSignaturePut } = await import("../functions/public-signature-put.js"));
});
afterAll(async () => {
  await bridge?.close();
  await redis?.close();
  await s3?.close();
});

const lambdaContext = (remainingMs = 60_000): Context => {
  const started = Date.now();
  return { awsRequestId: uniqueId("req"), functionName: "test", getRemainingTimeInMillis: () => remainingMs - (Date.now() - started) } as unknown as Context;
};

function httpEvent(method: string, path: string, body: Buffer | string, headers: Record<string, string>): APIGatewayProxyEventV2 {
  const binary = Buffer.isBuffer(body);
  return {
    version: "2.0",
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: "",
    headers,
    requestContext: { http: { method, path, sourceIp: "127.0.0.1" }, requestId: "r" } as APIGatewayProxyEventV2["requestContext"],
    body: binary ? body.toString("base64") : body,
    isBase64Encoded: binary,
  };
}

/** Runs `call` and how long it took. */
async function timed<T>(call: () => Promise<T>): Promise<{ result: T; elapsedMs: number }> {
  const started = performance.now();
  const result = await call();
  return { result, elapsedMs: performance.now() - started };
}

/** One upload presigned and PUT, and the consume request that links it. */
async function uploadedPhoto() {
  const orgId = uniqueId("org");
  const userId = uniqueId("user");
  const session = await signDevToken(key.privateKeyPem, { userId, orgId, role: "member", azp: APP_ORIGIN });
  const bytes = pngImage();
  const presigned = await presign(
    httpEvent("POST", "/uploads", JSON.stringify({ ownerType: "progress_photo", files: [{ contentType: "image/png", size: bytes.length }] }), {
      "content-type": "application/json",
      authorization: `Bearer ${session}`,
    }),
    lambdaContext(),
  );
  expect(presigned.statusCode).toBe(201);
  const upload = JSON.parse(String(presigned.body)).uploads[0];
  expect((await putPresigned(upload, bytes)).status).toBe(200);
  return { session, request: { uploadIds: [upload.uploadId], ownerType: "progress_photo", owner: { orgId, userId }, idempotencyKey: uniqueId("k") } };
}

const unavailable = { error: { code: "DEPENDENCY_UNAVAILABLE", message: expect.any(String) } };

describe("storage stalls (the S3 server is paused)", () => {
  it("consume answers 503 DEPENDENCY_UNAVAILABLE within a few seconds, and succeeds once storage answers again", async () => {
    const { request } = await uploadedPhoto();

    const stalled = await whilePaused(s3.pid, () => timed(() => consume(request, lambdaContext())));
    const recovered = await consume(request, lambdaContext());

    expect(stalled.result).toEqual(unavailable);
    expect(stalled.elapsedMs).toBeLessThan(BOUND_MS);
    expect(recovered).toMatchObject({ uploads: [{ uploadId: request.uploadIds[0] }] });
  }, 40_000);

  it("a public signature PUT answers 503 within a few seconds, and the same link works once storage answers again", async () => {
    const link = (await issueSignatureToken({ orgId: uniqueId("org"), formId: "form_1", submissionId: "sub_1" }, lambdaContext())) as { path: string };
    const put = () =>
      publicSignaturePut(
        {
          ...httpEvent("PUT", link.path, pngImage(), { "content-type": "image/png" }),
          pathParameters: { token: link.path.split("/").pop()! },
        },
        lambdaContext(),
      );

    const stalled = await whilePaused(s3.pid, () => timed(put));
    const recovered = await put();

    expect({ status: stalled.result.statusCode, body: JSON.parse(String(stalled.result.body)) }).toEqual({ status: 503, body: unavailable });
    expect(stalled.elapsedMs).toBeLessThan(BOUND_MS);
    expect(recovered.statusCode).toBe(201);
  }, 40_000);

  it("when the function's own time runs out first, the answer is 503 DEPENDENCY_UNAVAILABLE, not 500", async () => {
    const { request } = await uploadedPhoto();

    // Less time left than one dependency timeout: the early timeout answers.
    const stalled = await whilePaused(s3.pid, () => timed(() => consume(request, lambdaContext(DEPENDENCY_TIMEOUT_MS / 2 + 500))));

    expect(stalled.result).toEqual(unavailable);
    expect(stalled.elapsedMs).toBeLessThan(BOUND_MS);
    expect(await consume(request, lambdaContext())).toMatchObject({ uploads: [{ uploadId: request.uploadIds[0] }] });
  }, 40_000);
});

describe("Redis stalls (redis-server is paused)", () => {
  it("presign (ioredis) answers 503 within a few seconds, and succeeds once Redis answers again", async () => {
    const { session } = await uploadedPhoto();
    const event = () =>
      httpEvent("POST", "/uploads", JSON.stringify({ ownerType: "progress_photo", files: [{ contentType: "image/png", size: 68 }] }), {
        "content-type": "application/json",
        authorization: `Bearer ${session}`,
      });

    const stalled = await whilePaused(redis.pid(), () => timed(() => presign(event(), lambdaContext())));
    const recovered = await presign(event(), lambdaContext());

    expect({ status: stalled.result.statusCode, body: JSON.parse(String(stalled.result.body)) }).toEqual({ status: 503, body: unavailable });
    // A command timeout of DEPENDENCY_TIMEOUT_MS, not the 5 s the client used to wait.
    expect(stalled.elapsedMs).toBeLessThan(4 * DEPENDENCY_TIMEOUT_MS);
    expect(recovered.statusCode).toBe(201);
  }, 40_000);

  it("the Upstash client gives up after the timeout with DependencyUnavailableError, and works again afterwards", async () => {
    const store = new RedisStore(new UpstashDriver(createUpstashClient({ url: bridge.url, token: bridge.token }, { timeoutMs: DEPENDENCY_TIMEOUT_MS })));
    const upload = newUpload({ orgId: uniqueId("org") });
    const stage = () => store.stage({ uploads: [upload], lifetimeSeconds: 60, quota: { orgId: upload.orgId, defaultQuotaBytes: 1_000_000 } });

    const stalled = await whilePaused(redis.pid(), () =>
      timed(() =>
        stage().then(
          () => null,
          (error: unknown) => error,
        ),
      ),
    );
    const recovered = await stage();

    expect(stalled.result).toBeInstanceOf(DependencyUnavailableError);
    expect(stalled.elapsedMs).toBeLessThan(4 * DEPENDENCY_TIMEOUT_MS);
    expect(recovered).toMatchObject({ ok: true });
  }, 40_000);
});
