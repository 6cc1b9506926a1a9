/**
 * The sweeper on real Redis and the real S3 server: no orphaned object, no linked object ever
 * deleted — under crashes, retries, partial failures and races with consume.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteObjectsCommand, S3Client } from "@aws-sdk/client-s3";
import { createIoredisClient, IoredisDriver } from "@fitkit/core/adapters/redis/ioredis-driver";
import { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { SdkUrlSigner } from "@fitkit/core/adapters/s3/sdk-url-signer";
import { DependencyUnavailableError } from "@fitkit/core/errors";
import { STAGING_PREFIX } from "@fitkit/core/policies/object-keys";
import { consume } from "@fitkit/core/staging/consume";
import { presign } from "@fitkit/core/staging/presign";
import { emptySweepReport, sweep } from "@fitkit/core/staging/sweeper";
import type { NewUpload } from "@fitkit/core/uploads/upload";
import { mockClient } from "aws-sdk-client-mock";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { CountingDriver, CountingObjectStore } from "../support/counting.js";
import { pngImage } from "../support/media.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { newUpload, sleep, uniqueId } from "./support/fixtures.js";

const MEDIA = "media-sweep";
const COMPLIANCE = "compliance-sweep";
let redis: RedisServer;
let client: Redis;
let s3: EmbeddedS3;
let driver: CountingDriver;
let store: RedisStore;
let objects: CountingObjectStore;
let signer: SdkUrlSigner;

beforeAll(async () => {
  [redis, s3] = await Promise.all([
    startRedisServer(),
    mkdtemp(join(tmpdir(), "fitkit-s3-")).then((directory) => startEmbeddedS3({ directory, buckets: [MEDIA, COMPLIANCE] })),
  ]);
  client = createIoredisClient(redis.url);
  driver = new CountingDriver(new IoredisDriver(client));
  store = new RedisStore(driver);
  const settings = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  objects = new CountingObjectStore(new S3ObjectStore(createS3Client(settings)));
  signer = new SdkUrlSigner(settings);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.close();
  await s3?.close();
});
// Every test starts from an empty work list, so one test's leftovers cannot be claimed by another.
beforeEach(async () => {
  await client.flushall();
  driver.reset();
  objects.deleteBatches = [];
});

const bytes = pngImage();
const deps = (overrides: Partial<Parameters<typeof sweep>[0]> = {}) => ({ store, objects, complianceBucket: COMPLIANCE, ...overrides });

async function stageUploads(count: number, lifetimeSeconds: number, overrides: Partial<NewUpload> = {}): Promise<NewUpload[]> {
  const orgId = overrides.orgId ?? uniqueId("org");
  const uploads = Array.from({ length: count }, () => newUpload({ orgId, bucket: MEDIA, contentType: "image/png", size: bytes.length, ...overrides }));
  for (let i = 0; i < uploads.length; i += 1000) {
    const outcome = await store.stage({ uploads: uploads.slice(i, i + 1000), lifetimeSeconds, quota: { orgId, defaultQuotaBytes: 1e15 } });
    expect(outcome.ok).toBe(true);
  }
  return uploads;
}

async function putObject(upload: NewUpload): Promise<void> {
  const { url, headers } = await signer.presignPut({
    bucket: upload.bucket,
    key: upload.key,
    contentType: upload.contentType,
    contentLength: upload.size,
    expiresInSeconds: 600,
  });
  const res = await fetch(url, { method: "PUT", headers, body: bytes as BodyInit });
  expect(res.status).toBe(200);
}

const exists = async (upload: NewUpload) => (await objects.head(upload.bucket, upload.key)) !== null;
const consumeOne = (upload: NewUpload, idempotencyKey = uniqueId("k")) =>
  consume(
    { store, objects },
    { uploadIds: [upload.uploadId], ownerType: upload.ownerType, owner: { orgId: upload.orgId, userId: upload.userId ?? undefined }, idempotencyKey },
  );

describe("sweeping expired uploads", () => {
  it("deletes expired unconsumed uploads (uploaded or not), gives back their quota, and keeps consumed ones", async () => {
    const [uploaded, neverUploaded] = await stageUploads(2, 1, { orgId: "org_sweep1" });
    const [linked] = await stageUploads(1, 600, { orgId: "org_sweep1" });
    await Promise.all([putObject(uploaded!), putObject(linked!)]);
    await consumeOne(linked!);
    await sleep(1100);

    const report = await sweep(deps());

    expect(report).toEqual({ ...emptySweepReport(), claimed: 2, deleted: 2 });
    expect([await exists(uploaded!), await exists(linked!)]).toEqual([false, true]);
    const snapshot = await store.loadForConsume([uploaded!.uploadId, neverUploaded!.uploadId, linked!.uploadId], "r");
    expect(snapshot.uploads.map((u) => u?.status ?? null)).toEqual(["swept", "swept", "consumed"]);
    expect(await store.usage("org_sweep1", 1e15)).toMatchObject({ used: bytes.length, reserved: 0 });
  });

  it("leaves uploads before their deadline alone", async () => {
    const [fresh] = await stageUploads(1, 600);
    expect(await sweep(deps())).toMatchObject({ claimed: 0, deleted: 0 });
    expect((await store.loadForConsume([fresh!.uploadId], "r")).uploads[0]?.status).toBe("staged");
  });

  it("a consume after the deadline is EXPIRED, before and after the sweeper has run", async () => {
    const [late] = await stageUploads(1, 1);
    await putObject(late!);
    await sleep(1100);
    await expect(consumeOne(late!)).rejects.toMatchObject({ code: "EXPIRED" });
    await sweep(deps());
    await expect(consumeOne(late!)).rejects.toMatchObject({ code: "EXPIRED" });
  });

  it("never deletes a compliance record under records/, whatever its staging record says", async () => {
    const [record] = await stageUploads(1, 1, { bucket: COMPLIANCE, ownerType: "form_signature", userId: null, key: `records/org_x/${uniqueId("id")}.png` });
    await putObject(record!);
    await sleep(1100);

    const report = await sweep(deps());

    expect(report).toMatchObject({ claimed: 1, deleted: 0, failed: 1, failures: { ProtectedKey: 1 } });
    expect(await exists(record!)).toBe(true);
  });
});

describe("early release: a reservation whose object never arrived ends when its PUT URL expires", () => {
  // A 1-second URL; the deadline is 10 minutes away, so only the early release can give bytes back.
  const settings = { presignTtlSeconds: 1, stagingGraceSeconds: 600, orgQuotaBytes: 1e9, userInFlightBytes: 1e9, presignRatePerMinute: 1e6 };
  const presignPng = async (identity: { userId: string; orgId: string }) => {
    const { uploads } = await presign(
      { store, signer, settings, mediaBucket: MEDIA },
      { ...identity, role: "member" },
      {
        ownerType: "progress_photo",
        files: [{ contentType: "image/png", size: bytes.length }],
      },
    );
    // The record's key: presign stages under staging/ and announces the linked key.
    return newUpload({
      ...identity,
      uploadId: uploads[0]!.uploadId,
      key: `${STAGING_PREFIX}${uploads[0]!.key}`,
      bucket: MEDIA,
      contentType: "image/png",
      size: bytes.length,
    });
  };

  it("after the URL expired, gives back the reservation of an upload with no object (a late consume is EXPIRED) and keeps an uploaded one consumable", async () => {
    const identity = { userId: uniqueId("user"), orgId: uniqueId("org") };
    const [neverUploaded, uploaded] = [await presignPng(identity), await presignPng(identity)];
    await putObject(uploaded);
    expect(await store.usage(identity.orgId, 1e9)).toMatchObject({ reserved: 2 * bytes.length });
    await sleep(1100);

    const report = await sweep(deps({ urlSettleSeconds: 0 }));

    expect(report).toMatchObject({ claimed: 0, deleted: 0, urlChecked: 2, abandoned: 1, abandonedBytes: bytes.length, urlRemaining: 0 });
    expect(await store.usage(identity.orgId, 1e9)).toMatchObject({ used: 0, reserved: bytes.length });
    expect(await store.inFlightByUser(identity.orgId)).toEqual({ [identity.userId]: bytes.length });
    await expect(consumeOne(neverUploaded)).rejects.toMatchObject({ code: "EXPIRED", status: 410 });
    await expect(consumeOne(uploaded)).resolves.toMatchObject({ uploads: [{ uploadId: uploaded.uploadId }] });
    expect(await store.usage(identity.orgId, 1e9)).toMatchObject({ used: bytes.length, reserved: 0 });
    expect(await sweep(deps({ urlSettleSeconds: 0 }))).toMatchObject({ urlChecked: 0, abandoned: 0 });
  });

  it("leaves uploads alone until their URL has expired and the settle time has passed", async () => {
    const identity = { userId: uniqueId("user"), orgId: uniqueId("org") };
    await presignPng(identity);
    await sleep(1100);

    expect(await sweep(deps({ urlSettleSeconds: 60 }))).toMatchObject({ urlChecked: 0, abandoned: 0, urlRemaining: 0 });
    expect(await store.usage(identity.orgId, 1e9)).toMatchObject({ reserved: bytes.length });
  });

  it("an object that lands after the early release is still deleted by the sweep at the deadline", async () => {
    const identity = { userId: uniqueId("user"), orgId: uniqueId("org") };
    const upload = await presignPng(identity);
    await sleep(1100);
    await sweep(deps({ urlSettleSeconds: 0 }));
    await putObject(upload); // e.g. a slow PUT that storage accepted before the URL expired
    await client.zadd("{fku}:deadlines", 0, upload.uploadId); // bring its deadline forward

    expect(await sweep(deps())).toMatchObject({ claimed: 1, deleted: 1 });
    expect(await exists(upload)).toBe(false);
    expect(await store.usage(identity.orgId, 1e9)).toMatchObject({ used: 0, reserved: 0 });
  });
});

describe("crashes and partial failures", () => {
  it("a crash between claim and delete is retried by the next run after the lease", async () => {
    const [upload] = await stageUploads(1, 1);
    await putObject(upload!);
    await sleep(1100);
    objects.failNextDelete = new DependencyUnavailableError("storage");

    await expect(sweep(deps({ leaseSeconds: 1 }))).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(await exists(upload!)).toBe(true);
    expect(await sweep(deps({ leaseSeconds: 1 }))).toMatchObject({ claimed: 0 }); // still leased
    await sleep(1100);
    expect(await sweep(deps({ leaseSeconds: 1 }))).toMatchObject({ claimed: 1, deleted: 1, failed: 0 });
    expect(await exists(upload!)).toBe(false);
  });

  it("keys DeleteObjects reports as failed stay listed and are retried", async () => {
    const uploads = await stageUploads(3, 1);
    await sleep(1100);
    const flaky = new S3Client({ region: "auto", endpoint: "http://storage.invalid", credentials: { accessKeyId: "a", secretAccessKey: "b" } });
    const mock = mockClient(flaky);
    mock
      .on(DeleteObjectsCommand)
      .resolves({ Deleted: [{ Key: uploads[0]!.key }, { Key: uploads[2]!.key }], Errors: [{ Key: uploads[1]!.key, Code: "InternalError" }] });

    const first = await sweep(deps({ objects: new S3ObjectStore(flaky), leaseSeconds: 1 }));
    await sleep(1100);
    const second = await sweep(deps({ leaseSeconds: 1 }));

    expect(first).toMatchObject({ claimed: 3, deleted: 2, failed: 1, failures: { InternalError: 1 } });
    expect(second).toMatchObject({ claimed: 1, deleted: 1, failed: 0 });
    expect(
      (
        await store.loadForConsume(
          uploads.map((u) => u.uploadId),
          "r",
        )
      ).uploads.map((u) => u?.status),
    ).toEqual(["swept", "swept", "swept"]);
  });

  it("Redis unreachable: the run fails loudly and deletes nothing", async () => {
    const [upload] = await stageUploads(1, 1);
    await putObject(upload!);
    await sleep(1100);
    await client.save();
    await redis.stop();

    await expect(sweep(deps())).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(objects.deleteBatches).toEqual([]);

    await redis.start();
    await client.ping();
    expect(await sweep(deps())).toMatchObject({ claimed: 1, deleted: 1 });
  });
});

describe("consume racing the sweeper at the deadline", () => {
  it("leaves every upload linked-and-present or unlinked-and-gone, never both or neither", async () => {
    const rounds = 5;
    const perRound = 30;
    for (let round = 0; round < rounds; round++) {
      const uploads = await stageUploads(perRound, 1);
      await Promise.all(uploads.map(putObject));
      const deadline = (await store.loadForConsume([uploads[0]!.uploadId], "r")).uploads[0]!.deadline;
      const serverNow = (await store.loadForConsume([], "r")).now;
      const untilDeadline = deadline - serverNow;

      let sweeping = true;
      const sweepers = Array.from({ length: 3 }, async () => {
        while (sweeping) {
          await sweep(deps({ leaseSeconds: 1 }));
          await sleep(5);
        }
      });
      // Consumes land in a window around the deadline, by the store's clock. A consume that loses
      // is EXPIRED, or NOT_UPLOADED when a sweeper deleted the object between its checks.
      const linked = new Map<string, boolean>();
      const losses = new Set<string>();
      await Promise.all(
        uploads.map(async (upload, i) => {
          await sleep(Math.max(0, untilDeadline - 150 + (i * 300) / perRound));
          linked.set(
            upload.uploadId,
            await consumeOne(upload).then(
              () => true,
              (e: { code?: string }) => {
                losses.add(String(e.code));
                return false;
              },
            ),
          );
        }),
      ).finally(() => sleep(1200).then(() => (sweeping = false))); // let interrupted claims' leases run out
      await Promise.all(sweepers);
      expect([...losses].filter((code) => code !== "EXPIRED" && code !== "NOT_UPLOADED")).toEqual([]);
      await sweep(deps({ leaseSeconds: 1 }));

      const snapshot = await store.loadForConsume(
        uploads.map((u) => u.uploadId),
        "r",
      );
      for (const [i, upload] of uploads.entries()) {
        const present = await exists(upload);
        const isLinked = linked.get(upload.uploadId)!;
        expect({ id: upload.uploadId, linked: isLinked, present, status: snapshot.uploads[i]?.status ?? null }).toEqual({
          id: upload.uploadId,
          linked: isLinked,
          present: isLinked,
          status: isLinked ? "consumed" : "swept",
        });
      }
    }
  }, 120_000);
});

describe("sweeping at scale", () => {
  it("sweeps 10,000 expired uploads with 10 DeleteObjects requests and 2 Redis round trips per batch", async () => {
    await stageUploads(10_000, 1);
    await sleep(1100);
    driver.reset();

    const report = await sweep(deps());

    expect(report).toMatchObject({ claimed: 10_000, deleted: 10_000, failed: 0, remaining: 0 });
    expect(objects.deleteBatches).toEqual(Array(10).fill(1000));
    // Ten full batches (claim + finalise each), then one claim that finds nothing.
    expect(driver.calls).toEqual(["claim_url_expired", ...Array(10).fill(["claim_expired", "finalise_swept"]).flat(), "claim_expired", "claim_watched_keys"]);
  }, 120_000);
});
