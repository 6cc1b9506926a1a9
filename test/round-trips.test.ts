/**
 * Round trips, counted (not timed): presign costs one Redis round trip for the whole batch;
 * consume of N staged media uploads costs three (load, the promotion hold, commit), plus N storage
 * checks and N copies issued in parallel and one batched delete of the staged copies; signed URLs cost one
 * (the link state of every key), whatever the number and type of keys.
 */
import { MemoryObjectStore } from "@fitkit/core/adapters/memory/memory-object-store";
import { createIoredisClient, IoredisDriver } from "@fitkit/core/adapters/redis/ioredis-driver";
import { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { FastUrlSigner } from "@fitkit/core/adapters/s3/fast-url-signer";
import { STAGING_PREFIX } from "@fitkit/core/policies/object-keys";
import { signedUrls } from "@fitkit/core/signed-urls/signed-urls";
import { consume } from "@fitkit/core/staging/consume";
import { presign } from "@fitkit/core/staging/presign";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CountingDriver, CountingObjectStore } from "../support/counting.js";
import { pngImage } from "../support/media.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { uniqueId } from "./support/fixtures.js";

let redis: RedisServer;
let client: Redis;
let driver: CountingDriver;
let store: RedisStore;
const signer = new FastUrlSigner({ endpoint: "http://127.0.0.1:9", region: "auto", accessKeyId: "a", secretAccessKey: "b" });
const settings = { presignTtlSeconds: 600, stagingGraceSeconds: 600, orgQuotaBytes: 1e12, userInFlightBytes: 1e12, presignRatePerMinute: 1e6 };
const buckets = { media: "media", compliance: "compliance", records: "records" };
const png = pngImage();

beforeAll(async () => {
  redis = await startRedisServer();
  client = createIoredisClient(redis.url);
  driver = new CountingDriver(new IoredisDriver(client));
  store = new RedisStore(driver);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.close();
});

describe("round trips", () => {
  it("signed URLs of 100 keys of every type (images, videos, PDFs, records) are one Redis round trip", async () => {
    const orgId = uniqueId("org");
    const id = (i: number) => i.toString(16).padStart(32, "0");
    const keys = Array.from(
      { length: 100 },
      (_, i) =>
        [
          `${orgId}/progress_photo/user_1/${id(i)}.png`,
          `${orgId}/exercise_comment/user_1/${id(i)}.mp4`,
          `records/${orgId}/${id(i)}.pdf`,
          `${orgId}/exercise_comment/user_1/${id(i)}.webm`,
        ][i % 4]!,
    );
    driver.reset();

    const { urls } = await signedUrls({ signer, buckets, variants: store }, { userId: "user_1", orgId, role: "admin" }, { keys, expiresIn: 3600 });

    expect(driver.calls).toEqual(["get_many"]);
    expect(new Set(urls.map((u) => u.code))).toEqual(new Set(["NOT_LINKED"]));
  });

  it("presign of 10 files is one Redis round trip", async () => {
    driver.reset();
    await presign(
      { store, signer, settings, mediaBucket: buckets.media },
      { userId: "user_1", orgId: uniqueId("org"), role: "member" },
      {
        ownerType: "message",
        files: Array.from({ length: 10 }, () => ({ contentType: "image/png", size: png.length })),
      },
    );
    expect(driver.calls).toEqual(["stage"]);
  });

  it.each([1, 10, 100])("consume of %i staged uploads is three Redis round trips and one storage check per upload, all in flight together", async (n) => {
    const identity = { userId: "user_1", orgId: uniqueId("org"), role: "member" as const };
    const objects = new MemoryObjectStore();
    const uploads = [];
    for (let i = 0; i < n; i += 10) {
      const batch = await presign({ store, signer, settings, mediaBucket: buckets.media }, identity, {
        ownerType: "message",
        files: Array.from({ length: Math.min(10, n - i) }, () => ({ contentType: "image/png", size: png.length })),
      });
      uploads.push(...batch.uploads);
    }
    for (const u of uploads) await objects.put({ bucket: "media", key: `${STAGING_PREFIX}${u.key}`, body: png, contentType: "image/png", checksumSha256: "" });
    const counted = new CountingObjectStore(objects);
    let inFlight = 0;
    let maxInFlight = 0;
    const head = counted.head.bind(counted);
    counted.head = async (bucket, key) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return head(bucket, key);
    };
    driver.reset();

    await consume(
      { store, objects: counted },
      { uploadIds: uploads.map((u) => u.uploadId), ownerType: "message", owner: { orgId: identity.orgId, userId: "user_1" }, idempotencyKey: uniqueId("k") },
    );

    // The hold keeps the sweeper and the deadline off the batch between the copies and the commit.
    expect(driver.calls).toEqual(["load_for_consume", "hold_for_promotion", "commit_consume"]);
    expect(counted.heads).toBe(n);
    expect(maxInFlight).toBe(n);
  });
});
