/**
 * Multipart presign checks its limits before storage hears of it, on real Redis and the
 * SigV4-checking S3 server: a refused request begins no multipart upload and still counts towards
 * the rate limit, and a Redis failure after storage began one leaves none open.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { createIoredisClient, IoredisDriver } from "@fitkit/core/adapters/redis/ioredis-driver";
import { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { SdkUrlSigner } from "@fitkit/core/adapters/s3/sdk-url-signer";
import type { Identity } from "@fitkit/core/auth/identity";
import { signParts } from "@fitkit/core/multipart/sign-parts";
import { STAGING_PREFIX } from "@fitkit/core/policies/object-keys";
import { presign } from "@fitkit/core/staging/presign";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { CountingObjectStore } from "../support/counting.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { uniqueId } from "./support/fixtures.js";

const MEDIA = "media-limits";
const MiB = 1024 * 1024;
let redis: RedisServer;
let client: Redis;
let store: RedisStore;
let s3: EmbeddedS3;
let s3Client: ReturnType<typeof createS3Client>;
let signer: SdkUrlSigner;

beforeAll(async () => {
  [redis, s3] = await Promise.all([
    // Persisted (AOF), so a killed and restarted server keeps what the stage step wrote.
    startRedisServer({ appendOnly: true }),
    mkdtemp(join(tmpdir(), "fitkit-s3-")).then((directory) => startEmbeddedS3({ directory, buckets: [MEDIA] })),
  ]);
  client = createIoredisClient(redis.url, { timeoutMs: 1000 });
  store = new RedisStore(new IoredisDriver(client));
  const connection = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  s3Client = createS3Client(connection);
  signer = new SdkUrlSigner(connection);
}, 60_000);
afterAll(async () => {
  client?.disconnect();
  await redis?.close();
  await s3?.close();
});

const settings = (overrides: { orgQuotaBytes?: number; presignRatePerMinute?: number } = {}) => ({
  presignTtlSeconds: 600,
  stagingGraceSeconds: 600,
  orgQuotaBytes: 1024 * MiB,
  userInFlightBytes: 1024 * MiB,
  presignRatePerMinute: 1000,
  multipartPartBytes: 5 * MiB,
  ...overrides,
});
const member = (): Identity => ({ userId: uniqueId("user"), orgId: uniqueId("org"), role: "member" });
const videoRequest = (size: number) => ({ ownerType: "exercise_comment" as const, files: [{ contentType: "video/mp4", size, multipart: true }] });
/** The org's open storage uploads, by the key presign announced (they are begun at its staged key, under staging/). */
const openUploads = async (orgId: string) =>
  ((await s3Client.send(new ListMultipartUploadsCommand({ Bucket: MEDIA, Prefix: `${STAGING_PREFIX}${orgId}/` }))).Uploads ?? []).map((u) =>
    u.Key!.slice(STAGING_PREFIX.length),
  );

describe("multipart presign checks the limits first", () => {
  it("a presign the quota refuses begins no storage upload, and counts towards the rate limit", async () => {
    const identity = member();
    const objects = new CountingObjectStore(new S3ObjectStore(s3Client));
    let creates = 0;
    const createMultipart = objects.createMultipart.bind(objects);
    objects.createMultipart = (...args) => {
      creates += 1;
      return createMultipart(...args);
    };
    const deps = { store, signer, objects, settings: { ...settings({ orgQuotaBytes: 10 * MiB, presignRatePerMinute: 3 }) }, mediaBucket: MEDIA };

    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push(await presign(deps, identity, videoRequest(20 * MiB)).catch((e: { code: string }) => e.code));

    expect(outcomes).toEqual(["QUOTA_EXCEEDED", "QUOTA_EXCEEDED", "QUOTA_EXCEEDED", "RATE_LIMITED"]);
    expect(creates).toBe(0);
    expect(await openUploads(identity.orgId!)).toEqual([]);
  });

  it("a staged multipart upload begins in storage and carries storage's upload id on its record", async () => {
    const identity = member();
    const deps = { store, signer, objects: new S3ObjectStore(s3Client), settings: settings(), mediaBucket: MEDIA };

    const { uploads } = await presign(deps, identity, videoRequest(12 * MiB));

    expect(uploads).toEqual([{ uploadId: expect.any(String), key: expect.any(String), mode: "multipart", partSize: 5 * MiB, partCount: 3 }]);
    const [record] = await store.uploadRecords([uploads[0]!.uploadId]);
    expect(record?.multipart).toEqual({ storageUploadId: expect.any(String), partSize: 5 * MiB, partCount: 3 });
    expect(await openUploads(identity.orgId!)).toEqual([uploads[0]!.key]);
  });

  it("the retry of an idempotent presign whose upload Redis failed to attach begins it then; its parts land", async () => {
    const identity = member();
    const objects = new S3ObjectStore(s3Client);
    const createMultipart = objects.createMultipart.bind(objects);
    let killRedis = true;
    objects.createMultipart = async (...args) => {
      const created = await createMultipart(...args);
      if (killRedis) await redis.stop();
      return created;
    };
    const deps = { store, signer, objects, settings: settings(), mediaBucket: MEDIA };
    const request = { ...videoRequest(5 * MiB), idempotencyKey: uniqueId("retry") };

    let first: unknown;
    try {
      first = await presign(deps, identity, request).catch((e: unknown) => e);
    } finally {
      await redis.start();
    }
    expect(first).toMatchObject({ code: "DEPENDENCY_UNAVAILABLE" });
    expect(await openUploads(identity.orgId!)).toEqual([]);
    killRedis = false;
    const retried = await presign(deps, identity, request);

    const upload = retried.uploads[0]!;
    expect(upload).toMatchObject({ mode: "multipart", partSize: 5 * MiB, partCount: 1 });
    const [record] = await store.uploadRecords([upload.uploadId]);
    expect(record).toMatchObject({ status: "staged", multipart: { storageUploadId: expect.any(String), partCount: 1 } });
    expect(await openUploads(identity.orgId!)).toEqual([upload.key]);
    const { parts } = await signParts({ store, signer, settings: { ...settings(), multipartMaxLifetimeSeconds: 3600 } }, identity, upload.uploadId, {
      partNumbers: [1],
    });
    const put = await fetch(parts[0]!.url, { method: "PUT", headers: parts[0]!.headers, body: new Uint8Array(5 * MiB) });
    expect(put.status).toBe(200);
    expect(await store.usage(identity.orgId!, settings().orgQuotaBytes)).toMatchObject({ reserved: 5 * MiB });
  });

  it("Redis unreachable after storage began the upload: 503, and the storage upload is aborted, not left open", async () => {
    const identity = member();
    const objects = new S3ObjectStore(s3Client);
    const createMultipart = objects.createMultipart.bind(objects);
    // The stage step passed; Redis dies while storage begins the upload (a crash, not a fake error).
    objects.createMultipart = async (...args) => {
      const created = await createMultipart(...args);
      await redis.stop();
      return created;
    };
    const deps = { store, signer, objects, settings: settings(), mediaBucket: MEDIA };

    try {
      const failure = await presign(deps, identity, videoRequest(12 * MiB)).catch((e: unknown) => e);

      expect(failure).toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", status: 503 });
      expect(await openUploads(identity.orgId!)).toEqual([]);
    } finally {
      await redis.start();
    }
  });
});
