/**
 * Per-organisation quotas on real Redis and the real S3 server: reserve at presign, settle at
 * consume, give back on sweep, rejection and release — atomically, never negative, never drifting.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createIoredisClient, IoredisDriver } from "@fitkit/core/adapters/redis/ioredis-driver";
import { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { FastUrlSigner } from "@fitkit/core/adapters/s3/fast-url-signer";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import type { Identity } from "@fitkit/core/auth/identity";
import { STAGING_PREFIX } from "@fitkit/core/policies/object-keys";
import { reconcile } from "@fitkit/core/quotas/reconcile";
import { release } from "@fitkit/core/quotas/release";
import { setQuota } from "@fitkit/core/quotas/set-quota";
import { requestSignatureUpload } from "@fitkit/core/signatures/direct-signature-upload";
import { hashToken } from "@fitkit/core/signatures/signature-tokens";
import { consume } from "@fitkit/core/staging/consume";
import { type PresignedUpload, presign } from "@fitkit/core/staging/presign";
import { sweep } from "@fitkit/core/staging/sweeper";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { pngImage, zipBytes } from "../support/media.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { sleep, uniqueId } from "./support/fixtures.js";
import { putPresigned } from "./support/http.js";

const buckets = { media: "media-quota", compliance: "compliance-quota", records: "records-quota" };
let redis: RedisServer;
let client: Redis;
let s3: EmbeddedS3;
let store: RedisStore;
let objects: S3ObjectStore;
let signer: FastUrlSigner;
const png = pngImage(4, 4);
const DEFAULT_QUOTA = 1_000_000;

beforeAll(async () => {
  [redis, s3] = await Promise.all([
    startRedisServer(),
    mkdtemp(join(tmpdir(), "fitkit-s3-")).then((directory) => startEmbeddedS3({ directory, buckets: Object.values(buckets) })),
  ]);
  client = createIoredisClient(redis.url);
  store = new RedisStore(new IoredisDriver(client));
  const connection = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  objects = new S3ObjectStore(createS3Client(connection));
  signer = new FastUrlSigner(connection);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.close();
  await s3?.close();
});

const settings = (lifetime = 600) => ({
  presignTtlSeconds: lifetime,
  stagingGraceSeconds: 0,
  orgQuotaBytes: DEFAULT_QUOTA,
  userInFlightBytes: DEFAULT_QUOTA,
  presignRatePerMinute: 100_000,
});
const org = (): Identity => ({ userId: uniqueId("user"), orgId: uniqueId("org"), role: "member" });
const usage = (orgId: string) => store.usage(orgId, DEFAULT_QUOTA);

async function presignPng(who: Identity, count = 1, lifetime = 600, bytes = png): Promise<PresignedUpload[]> {
  return (
    await presign({ store, signer, settings: settings(lifetime), mediaBucket: buckets.media }, who, {
      ownerType: "progress_photo",
      files: Array.from({ length: count }, () => ({ contentType: "image/png", size: bytes.length })),
    })
  ).uploads;
}
async function uploadPng(who: Identity, count = 1, lifetime = 600, bytes = png) {
  const uploads = await presignPng(who, count, lifetime, bytes);
  for (const u of uploads) expect((await putPresigned(u, bytes)).status).toBe(200);
  return uploads;
}
const link = (who: Identity, uploads: PresignedUpload[]) =>
  consume(
    { store, objects },
    { uploadIds: uploads.map((u) => u.uploadId), ownerType: "progress_photo", owner: { orgId: who.orgId!, userId: who.userId }, idempotencyKey: uniqueId("k") },
  );

describe("reserve, settle, give back", () => {
  it("20 parallel presigns at the quota boundary never overshoot", async () => {
    const who = org();
    await setQuota({ quotas: store }, { orgId: who.orgId!, quotaBytes: 10 * png.length });

    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => presignPng(who)));

    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(10);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected").map((o) => o.reason);
    expect(refused).toHaveLength(10);
    expect(refused.every((e) => e.code === "QUOTA_EXCEEDED" && e.status === 403)).toBe(true);
    // A member is told which limit and what was asked, never the org's figures.
    expect(refused[0].details).toEqual([{ limit: "org_quota", requestedBytes: png.length }]);
    expect(await usage(who.orgId!)).toEqual({ used: 0, reserved: 10 * png.length, quota: 10 * png.length });
  });

  it("QUOTA_EXCEEDED gives the org's remaining and limit bytes to an admin only; members, coaches and signatories get no org figures", async () => {
    const orgId = uniqueId("org");
    await setQuota({ quotas: store }, { orgId, quotaBytes: 3 * png.length });
    await presignPng({ userId: uniqueId("user"), orgId, role: "member" }, 2);
    const refusal = (role: Identity["role"]) => presignPng({ userId: uniqueId("user"), orgId, role }, 2).catch((e: { code: string; details: unknown }) => e);
    const token = randomBytes(32).toString("base64url");
    await store.putSignatureToken({ tokenHash: hashToken(token), orgId, formId: "form_1", submissionId: "sub_1" }, 3600);
    const signatory = await requestSignatureUpload(
      { store, tokens: store, objects, signer, settings: { ...settings(), publicPutRatePerMinute: 100 }, complianceBucket: buckets.compliance },
      { token, clientIp: "198.51.100.9" },
      { contentType: "image/png", size: 2 * png.length },
    ).catch((e: { code: string; details: unknown }) => e);

    expect(await refusal("admin")).toMatchObject({
      code: "QUOTA_EXCEEDED",
      details: [{ limit: "org_quota", remainingBytes: png.length, requestedBytes: 2 * png.length, limitBytes: 3 * png.length }],
    });
    for (const role of ["member", "coach"] as const) {
      expect(await refusal(role)).toMatchObject({ code: "QUOTA_EXCEEDED", details: [{ limit: "org_quota", requestedBytes: 2 * png.length }] });
      expect(JSON.stringify(await refusal(role))).not.toMatch(/remainingBytes|limitBytes/);
    }
    expect(signatory).toMatchObject({ code: "QUOTA_EXCEEDED", status: 403 });
    expect((signatory as { details?: unknown }).details).toBeUndefined();
  });

  it("QUOTA_EXCEEDED past a member's own bytes in flight gives the member their own cap and what is left of it", async () => {
    const who = org();
    const capped = { store, signer, settings: { ...settings(), userInFlightBytes: 3 * png.length }, mediaBucket: buckets.media };
    const request = { ownerType: "progress_photo" as const, files: [png, png].map((b) => ({ contentType: "image/png", size: b.length })) };
    await presign(capped, who, request);

    const refused = await presign(capped, who, request).catch((e: { code: string; details: unknown }) => e);

    expect(refused).toMatchObject({
      code: "QUOTA_EXCEEDED",
      details: [{ limit: "user_in_flight", remainingBytes: png.length, requestedBytes: 2 * png.length, limitBytes: 3 * png.length }],
    });
  });

  it("consume moves the bytes from reserved to used", async () => {
    const who = org();
    const uploads = await uploadPng(who, 2);
    await link(who, uploads);
    expect(await usage(who.orgId!)).toEqual({ used: 2 * png.length, reserved: 0, quota: DEFAULT_QUOTA });
  });

  it("a rejected upload (content mismatch) gives its reservation back", async () => {
    const who = org();
    const spoof = zipBytes();
    const [upload] = await uploadPng(who, 1, 600, spoof);
    await expect(link(who, [upload!])).rejects.toMatchObject({ code: "CONTENT_MISMATCH" });
    expect(await usage(who.orgId!)).toMatchObject({ used: 0, reserved: 0 });
  });

  it("the sweeper gives back what it deletes", async () => {
    const who = org();
    await presignPng(who, 3, 1);
    await sleep(1100);
    await sweep({ store, objects, complianceBucket: buckets.compliance });
    expect(await usage(who.orgId!)).toMatchObject({ used: 0, reserved: 0 });
  });

  it("release deletes the objects and gives their stored bytes back once, however often or concurrently released", async () => {
    const who = org();
    const uploads = await uploadPng(who, 2);
    await link(who, uploads);
    const keys = uploads.map((u) => u.key);

    const results = await Promise.all([
      release({ links: store, objects, buckets }, { keys, orgId: who.orgId! }),
      release({ links: store, objects, buckets }, { keys, orgId: who.orgId! }),
    ]);
    const again = await release({ links: store, objects, buckets }, { keys, orgId: who.orgId! });

    expect(results.reduce((sum, r) => sum + r.bytes, 0)).toBe(2 * png.length);
    expect(results.reduce((sum, r) => sum + r.released, 0)).toBe(2);
    expect(again).toEqual({ released: 0, bytes: 0 });
    expect(await usage(who.orgId!)).toMatchObject({ used: 0, reserved: 0 });
    expect(await objects.head(buckets.media, keys[0]!)).toBeNull();
  });

  it("release refuses another org's keys and never deletes an unlinked (staged) object", async () => {
    const who = org();
    const [staged] = await uploadPng(who);

    await expect(release({ links: store, objects, buckets }, { keys: [staged!.key], orgId: "org_someone_else" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect(await release({ links: store, objects, buckets }, { keys: [staged!.key], orgId: who.orgId! })).toEqual({ released: 0, bytes: 0 });
    // Its bytes are where presign staged them: the announced key under staging/.
    expect(await objects.head(buckets.media, `${STAGING_PREFIX}${staged!.key}`)).not.toBeNull();
  });
});

describe("counters never drift", () => {
  async function recomputedReserved(orgId: string): Promise<number> {
    const keys = await client.keys("{fku}:upload:*");
    const records = (await Promise.all(keys.map((k) => client.get(k)))).map((raw) => JSON.parse(raw!) as { orgId: string; status: string; size: number });
    return records.filter((r) => r.orgId === orgId && (r.status === "staged" || r.status === "claimed")).reduce((sum, r) => sum + r.size, 0);
  }

  it("equal a recomputation after a randomised sequence of presign, consume, sweep and release", async () => {
    const who = org();
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const staged: PresignedUpload[] = [];
    const linked: PresignedUpload[] = [];
    for (let step = 0; step < 60; step++) {
      const r = random();
      // Short-lived uploads are never PUT: their 1 s URLs could expire before a busy machine sends them.
      if (r < 0.4)
        staged.push(...(random() < 0.3 ? await presignPng(who, 1 + Math.floor(random() * 3), 1) : await uploadPng(who, 1 + Math.floor(random() * 3))));
      else if (r < 0.7 && staged.length > 0) {
        const batch = staged.splice(0, 1 + Math.floor(random() * Math.min(3, staged.length)));
        await link(who, batch).then(
          () => linked.push(...batch),
          (e: { code: string }) => expect(["EXPIRED", "NOT_UPLOADED"]).toContain(e.code),
        );
      } else if (r < 0.85 && linked.length > 0) {
        const batch = linked.splice(0, 1 + Math.floor(random() * Math.min(2, linked.length)));
        await release({ links: store, objects, buckets }, { keys: batch.map((u) => u.key), orgId: who.orgId! });
      } else {
        await sleep(300);
        await sweep({ store, objects, complianceBucket: buckets.compliance });
      }
    }

    const counters = await usage(who.orgId!);
    const report = await reconcile({ quotas: store, links: store, objects, buckets, defaultQuotaBytes: DEFAULT_QUOTA }, { orgId: who.orgId!, apply: false });
    expect(counters.reserved).toBe(await recomputedReserved(who.orgId!));
    expect(report).toMatchObject({ usedCounter: counters.used, usedFromStorage: counters.used, difference: 0, linkedObjects: linked.length });
    expect(counters.used).toBe(linked.length * png.length);
  }, 60_000);

  it("reconcile reports a drifted counter and corrects it with apply", async () => {
    const who = org();
    await link(who, await uploadPng(who, 2));
    await store.setUsed(who.orgId!, 5);

    const report = await reconcile({ quotas: store, links: store, objects, buckets, defaultQuotaBytes: DEFAULT_QUOTA }, { orgId: who.orgId!, apply: true });

    expect(report).toEqual({
      orgId: who.orgId,
      usedCounter: 5,
      usedFromStorage: 2 * png.length,
      difference: 2 * png.length - 5,
      linkedObjects: 2,
      unlinkedObjects: 0,
      applied: true,
    });
    expect((await usage(who.orgId!)).used).toBe(2 * png.length);
  });

  it("npm run reconcile reports the same as the core function", async () => {
    const who = org();
    await link(who, await uploadPng(who, 1));
    const { execFile } = await import("node:child_process");
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ["--import", "tsx", "local/reconcile.ts", "--org", who.orgId!],
        {
          env: {
            ...process.env,
            REDIS_URL: redis.url,
            R2_ENDPOINT: s3.endpoint,
            R2_ACCESS_KEY_ID: s3.accessKeyId,
            R2_SECRET_ACCESS_KEY: s3.secretAccessKey,
            R2_BUCKET_NAME: buckets.media,
            R2_COMPLIANCE_BUCKET_NAME: buckets.compliance,
            R2_RECORDS_BUCKET_NAME: buckets.records,
          },
        },
        (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)),
      ),
    );
    expect(JSON.parse(output)).toEqual({
      orgId: who.orgId,
      usedCounter: png.length,
      usedFromStorage: png.length,
      difference: 0,
      linkedObjects: 1,
      unlinkedObjects: 0,
      applied: false,
    });
  });
});
