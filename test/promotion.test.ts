/**
 * Promotion of compliance uploads into the retention lock, on real parts: a real redis-server
 * (Redis time decides deadlines), and the embedded S3 server (SigV4-checking) locking the records
 * bucket whole as R2's bucket lock does. Records are copied server-side from the compliance bucket
 * into their own bucket, never kept where the public signature functions' token reaches. A retained
 * copy must never be left unlinked and uncounted.
 */
import { createHash } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createIoredisClient, IoredisDriver } from "@fitkit/core/adapters/redis/ioredis-driver";
import { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { DependencyUnavailableError } from "@fitkit/core/errors";
import { incomingComplianceKey, recordsKeyFor } from "@fitkit/core/policies/object-keys";
import { consume } from "@fitkit/core/staging/consume";
import { type SweepReport, sweep } from "@fitkit/core/staging/sweeper";
import type { NewUpload } from "@fitkit/core/uploads/upload";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { pdfBytes } from "../support/media.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { sleep, uniqueId } from "./support/fixtures.js";

const COMPLIANCE = "compliance-promotion";
const RECORDS = "records-promotion";
let s3: EmbeddedS3;
let redis: RedisServer;
let client: Redis;
let store: RedisStore;
let objects: S3ObjectStore;

beforeAll(async () => {
  [s3, redis] = await Promise.all([
    mkdtemp(join(tmpdir(), "fitkit-s3-")).then((directory) =>
      startEmbeddedS3({ directory, buckets: [COMPLIANCE, RECORDS], retentionLocks: [{ bucket: RECORDS, prefix: "" }] }),
    ),
    startRedisServer(),
  ]);
  client = createIoredisClient(redis.url);
  store = new RedisStore(new IoredisDriver(client));
  objects = new S3ObjectStore(createS3Client({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }));
});
afterAll(async () => {
  client?.disconnect();
  await redis?.close();
  await s3?.close();
});

/** Stages a signature under `incoming/` and stores its bytes, as the public signature route does. */
async function stagedSignature(lifetimeSeconds: number) {
  const orgId = uniqueId("org");
  const uploadId = uniqueId("u");
  const body = pdfBytes();
  const sha256 = createHash("sha256").update(body).digest("base64");
  const upload: NewUpload = {
    uploadId,
    ownerType: "form_signature",
    orgId,
    userId: null,
    bucket: COMPLIANCE,
    key: incomingComplianceKey({ orgId, uploadId, contentType: "application/pdf" }),
    contentType: "application/pdf",
    size: body.length,
  };
  expect((await store.stage({ uploads: [upload], lifetimeSeconds, quota: { orgId, defaultQuotaBytes: 1e9 } })).ok).toBe(true);
  expect((await objects.put({ bucket: COMPLIANCE, key: upload.key, body, contentType: "application/pdf", checksumSha256: sha256 })).ok).toBe(true);
  const request = { uploadIds: [uploadId], ownerType: "form_signature" as const, owner: { orgId }, idempotencyKey: uniqueId("k") };
  return { upload, request, recordsKey: recordsKeyFor(upload.key) };
}

const deps = () => ({ store, objects, complianceBucket: COMPLIANCE, recordsBucket: RECORDS });

describe("promotion into the retention lock", () => {
  it("races its deadline and the sweeper and wins: the sweeper run past the deadline mid-copy claims nothing, the copy is linked and counted", async () => {
    const { upload, request, recordsKey } = await stagedSignature(2);
    const racing = Object.create(objects) as S3ObjectStore;
    let swept: SweepReport | undefined;
    racing.copy = async (bucket, fromKey, toKey, toBucket) => {
      const copied = await objects.copy(bucket, fromKey, toKey, toBucket);
      await sleep(2100); // the copy outlasted the time the upload had left…
      swept = await sweep({ store, objects, complianceBucket: COMPLIANCE }); // …and the sweeper ran
      return copied;
    };

    const reply = await consume({ ...deps(), objects: racing }, request);

    expect(swept).toMatchObject({ claimed: 0, deleted: 0 });
    expect(reply.uploads).toEqual([expect.objectContaining({ uploadId: upload.uploadId, key: recordsKey, size: upload.size })]);
    expect(await store.linkedObjects([{ bucket: RECORDS, key: recordsKey }])).toEqual([{ orgId: upload.orgId, size: upload.size }]);
    expect(await store.usage(upload.orgId, 1e9)).toEqual({ used: upload.size, reserved: 0, quota: 1e9 });
    expect(await objects.head(COMPLIANCE, upload.key)).toBeNull();
  });

  it("succeeds on a retry after the first attempt's copy landed in the lock (which refuses a second copy)", async () => {
    const { upload, request, recordsKey } = await stagedSignature(600);
    const failingOnce = Object.create(store) as RedisStore;
    failingOnce.commitConsume = async () => {
      throw new DependencyUnavailableError("redis");
    };
    await expect(consume({ ...deps(), store: failingOnce }, request)).rejects.toMatchObject({ code: "DEPENDENCY_UNAVAILABLE" });
    expect(await objects.head(RECORDS, recordsKey)).not.toBeNull();
    expect(await objects.copy(COMPLIANCE, upload.key, recordsKey, RECORDS).catch((e: Error) => e.name)).toBe("DependencyUnavailableError");

    const reply = await consume(deps(), request);

    expect(reply.uploads.map((u) => u.key)).toEqual([recordsKey]);
    expect(await store.linkedObjects([{ bucket: RECORDS, key: recordsKey }])).toEqual([{ orgId: upload.orgId, size: upload.size }]);
  });

  it("keeps the record in the records bucket only, byte for byte, where the lock refuses its deletion", async () => {
    const { upload, request, recordsKey } = await stagedSignature(600);
    const incoming = await objects.head(COMPLIANCE, upload.key);

    const reply = await consume(deps(), request);

    expect(reply.uploads).toEqual([expect.objectContaining({ bucket: RECORDS, key: recordsKey, size: upload.size })]);
    expect(await objects.head(RECORDS, recordsKey)).toMatchObject({ size: upload.size, etag: incoming?.etag });
    // Nothing of it is left in the bucket the public signature functions can read.
    expect(await objects.head(COMPLIANCE, recordsKey)).toBeNull();
    expect(await objects.head(COMPLIANCE, upload.key)).toBeNull();
    await expect(objects.deleteObjects(RECORDS, [recordsKey])).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(await objects.head(RECORDS, recordsKey)).not.toBeNull();
  });
});
