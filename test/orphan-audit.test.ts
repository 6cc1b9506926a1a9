/**
 * The orphan audit on real parts: a real redis-server (ioredis) holding the records and the real
 * embedded S3 server holding the objects. Records are lost the way production loses them — a
 * FLUSHALL on the live server, as a Redis without persistence does on restart — and the audit must
 * see what reconciliation cannot.
 */
import { createHash } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createIoredisClient, IoredisDriver } from "@fitkit/core/adapters/redis/ioredis-driver";
import { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { BREAKER_MIN_ORPHANS, type OrphanAuditDeps, runOrphanAudit } from "@fitkit/core/audit/orphan-audit";
import type { Log } from "@fitkit/core/logging";
import { STAGING_PREFIX, variantKey } from "@fitkit/core/policies/object-keys";
import { reconcile } from "@fitkit/core/quotas/reconcile";
import type { Buckets } from "@fitkit/core/storage/buckets";
import type { NewUpload } from "@fitkit/core/uploads/upload";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { newUpload, sleep, uniqueId } from "./support/fixtures.js";

const STAGING_LIFETIME_SECONDS = 600;
const QUOTA = 1_000_000_000;
/** The audit's clock, one staging lifetime (and a minute) after everything in a test was written. */
const later = { now: () => Date.now() + (STAGING_LIFETIME_SECONDS + 60) * 1000 };

let s3: EmbeddedS3;
let redis: RedisServer;
let client: Redis;
let store: RedisStore;
let objects: S3ObjectStore;

const BUCKET_SETS = ["loss", "few", "young", "one", "small", "split", "staged"] as const;
const bucketsOf = (set: (typeof BUCKET_SETS)[number]): Buckets => ({ media: `${set}-media`, compliance: `${set}-compliance` });

beforeAll(async () => {
  [s3, redis] = await Promise.all([
    startEmbeddedS3({ directory: await mkdtemp(join(tmpdir(), "fitkit-audit-s3-")), buckets: BUCKET_SETS.flatMap((set) => Object.values(bucketsOf(set))) }),
    startRedisServer(),
  ]);
  objects = new S3ObjectStore(createS3Client({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }));
  client = createIoredisClient(redis.url);
  store = new RedisStore(new IoredisDriver(client));
});
afterAll(async () => {
  client?.disconnect();
  await Promise.all([s3?.close(), redis?.close()]);
});

const bodyOf = (upload: NewUpload) => new TextEncoder().encode(`bytes of ${upload.key}`.padEnd(upload.size, "."));

async function putObject(bucket: string, key: string, body: Uint8Array, contentType = "video/mp4"): Promise<void> {
  const checksumSha256 = createHash("sha256").update(body).digest("base64");
  expect(await objects.put({ bucket, key, body, contentType, checksumSha256 })).toMatchObject({ ok: true });
}

/** Stages uploads as presign does, then stores their objects as the uploaders' PUTs do. */
async function stageAndUpload(uploads: NewUpload[]): Promise<void> {
  const outcome = await store.stage({ uploads, lifetimeSeconds: STAGING_LIFETIME_SECONDS, quota: { orgId: uploads[0]!.orgId, defaultQuotaBytes: QUOTA } });
  expect(outcome.ok).toBe(true);
  for (const upload of uploads) await putObject(upload.bucket, upload.key, bodyOf(upload), upload.contentType);
}

async function link(upload: NewUpload, finalKey = upload.key): Promise<void> {
  const outcome = await store.commitConsume({
    uploadIds: [upload.uploadId],
    owner: { orgId: upload.orgId, userId: upload.userId },
    ownerType: upload.ownerType,
    replayKey: uniqueId("replay"),
    stored: { fingerprint: "fp", response: "{}" },
    replayTtlSeconds: 60,
    finalObjects: [{ bucket: upload.bucket, key: finalKey }],
  });
  expect(outcome).toEqual({ ok: true });
}

const videos = (buckets: Buckets, orgId: string, count: number): NewUpload[] =>
  Array.from({ length: count }, () => {
    const upload = newUpload({ orgId, bucket: buckets.media, contentType: "video/mp4", ownerType: "exercise_comment", size: 64 });
    return { ...upload, key: upload.key.replace("progress_photo", "exercise_comment").replace(/\.jpg$/, ".mp4") };
  });

const complianceUploads = (buckets: Buckets, orgId: string, count: number): NewUpload[] =>
  Array.from({ length: count }, () => {
    const upload = newUpload({ orgId, bucket: buckets.compliance, contentType: "application/pdf", ownerType: "form_signature", userId: null, size: 80 });
    return { ...upload, key: `incoming/${orgId}/${upload.uploadId}.pdf` };
  });

function recordingLog(): Log & { errors: { message: string; fields?: Record<string, unknown> }[] } {
  const errors: { message: string; fields?: Record<string, unknown> }[] = [];
  return { info: () => undefined, warn: () => undefined, error: (message, fields) => errors.push({ message, fields }), errors };
}

async function keysIn(bucket: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of objects.list(bucket, "")) keys.push(...page.map((o) => o.key));
  return keys;
}

const deps = (buckets: Buckets, overrides: Partial<OrphanAuditDeps> = {}): OrphanAuditDeps => ({
  uploads: store,
  links: store,
  objects,
  buckets,
  stagingLifetimeSeconds: STAGING_LIFETIME_SECONDS,
  maxUnknownPercent: 5,
  clock: later,
  ...overrides,
});

describe("the orphan audit", () => {
  it("after Redis lost its data it reports every staged, linked, promoted and processed object that reconcile cannot see — and the circuit breaker deletes none", async () => {
    const buckets = bucketsOf("loss");
    const orgId = uniqueId("org");
    const staged = videos(buckets, orgId, 2);
    const linked = videos(buckets, orgId, 2);
    const photo = newUpload({ orgId, bucket: buckets.media, size: 64 });
    const [form] = complianceUploads(buckets, orgId, 1);
    await stageAndUpload([...staged, ...linked, photo, form!]);
    for (const upload of [...linked, photo]) await link(upload);
    // Consume promotes a compliance upload: the record's copy is linked, the incoming object dropped.
    const recordsKey = form!.key.replace("incoming/", "records/");
    await putObject(buckets.compliance, recordsKey, bodyOf(form!), "application/pdf");
    await link(form!, recordsKey);
    await objects.deleteObjects(buckets.compliance, [form!.key]);
    // process-media's copies of the photo, recorded on its link.
    const variants = (["original", "display", "thumb"] as const).map((variant) => ({
      variant,
      key: variantKey(photo.key, variant, variant === "original" ? "jpg" : "webp"),
      contentType: variant === "original" ? "image/jpeg" : "image/webp",
      size: 10,
    }));
    for (const v of variants) await putObject(buckets.media, v.key, new Uint8Array(v.size).fill(7), v.contentType);
    const outcome = await store.recordMedia(
      { bucket: buckets.media, key: photo.key, orgId },
      { status: "ready", width: 1, height: 1, placeholder: "AA==", variants: Object.fromEntries(variants.map((v) => [v.variant, v])) as never },
    );
    expect(outcome).toEqual({ linked: true, recorded: true });
    const allKeys = { media: (await keysIn(buckets.media)).sort(), compliance: await keysIn(buckets.compliance) };
    expect(allKeys.media).toHaveLength(8);
    expect(allKeys.compliance).toEqual([recordsKey]);

    const before = await runOrphanAudit(deps(buckets), { delete: true });
    expect(before).toMatchObject({ orphanCount: 0, circuitBreakerTripped: false, deleted: 0 });
    expect(before.buckets).toEqual([
      {
        bucket: buckets.media,
        objects: 8,
        unknown: 0,
        youngUnknown: 0,
        orphans: 0,
        orphanBytes: 0,
        oldObjects: 8,
        unknownPercent: 0,
        circuitBreakerTripped: false,
      },
      {
        bucket: buckets.compliance,
        objects: 1,
        unknown: 0,
        youngUnknown: 0,
        orphans: 0,
        orphanBytes: 0,
        oldObjects: 1,
        unknownPercent: 0,
        circuitBreakerTripped: false,
      },
    ]);

    await client.flushall();

    const blind = await reconcile(
      { quotas: store, links: store, objects, buckets: { ...buckets, records: buckets.compliance }, defaultQuotaBytes: QUOTA },
      { orgId, apply: false },
    );
    expect(blind.difference).toBe(0);
    const log = recordingLog();
    const after = await runOrphanAudit(deps(buckets, { log }), { delete: true });

    expect(after.circuitBreakerTripped).toBe(true);
    expect(after.deleted).toBe(0);
    expect(after.orphanCount).toBe(9);
    expect(after.orphans.map((o) => `${o.bucket}/${o.key}${o.retained ? " (retained)" : ""}`).sort()).toEqual(
      [...allKeys.media.map((k) => `${buckets.media}/${k}`), `${buckets.compliance}/${recordsKey} (retained)`].sort(),
    );
    expect(after.buckets.map((b) => [b.unknownPercent, b.circuitBreakerTripped])).toEqual([
      [100, true],
      [100, true],
    ]);
    expect(log.errors).toHaveLength(1);
    expect(log.errors[0]!.message).toMatch(/records were probably lost; nothing deleted/);
    expect((await keysIn(buckets.media)).sort()).toEqual(allKeys.media);
    expect(await keysIn(buckets.compliance)).toEqual([recordsKey]);
  });

  it("deletes a few real orphans among many known objects only with the delete flag, and never a retained record", async () => {
    const buckets = bucketsOf("few");
    const orgId = uniqueId("org");
    const known = videos(buckets, orgId, 40);
    const forms = complianceUploads(buckets, orgId, 30);
    await stageAndUpload(known);
    await stageAndUpload(forms);
    for (const upload of known.slice(0, 20)) await link(upload);
    const [mediaOrphan] = videos(buckets, orgId, 1);
    const strayKey = "not-a-key-we-make.bin";
    const recordsOrphan = `records/${orgId}/${uniqueId("lost")}.pdf`;
    await putObject(buckets.media, mediaOrphan!.key, bodyOf(mediaOrphan!));
    await putObject(buckets.media, strayKey, new Uint8Array(5));
    await putObject(buckets.compliance, recordsOrphan, new Uint8Array(9), "application/pdf");

    const reported = await runOrphanAudit(deps(buckets));

    expect(reported).toMatchObject({ orphanCount: 3, circuitBreakerTripped: false, deleteRequested: false, deleted: 0, failed: [] });
    expect(reported.orphans.map(({ bucket, key, size, retained }) => ({ bucket, key, size, retained }))).toEqual([
      { bucket: buckets.media, key: strayKey, size: 5, retained: false },
      { bucket: buckets.media, key: mediaOrphan!.key, size: bodyOf(mediaOrphan!).length, retained: false },
      { bucket: buckets.compliance, key: recordsOrphan, size: 9, retained: true },
    ]);
    expect(reported.buckets.map(({ objects, unknown, orphans }) => ({ objects, unknown, orphans }))).toEqual([
      { objects: 42, unknown: 2, orphans: 2 },
      { objects: 31, unknown: 1, orphans: 1 },
    ]);
    expect(await keysIn(buckets.media)).toHaveLength(42);

    const deleted = await runOrphanAudit(deps(buckets), { delete: true });

    expect(deleted).toMatchObject({ orphanCount: 3, circuitBreakerTripped: false, deleteRequested: true, deleted: 2, failed: [] });
    expect((await keysIn(buckets.media)).sort()).toEqual(known.map((u) => u.key).sort());
    expect((await keysIn(buckets.compliance)).sort()).toEqual([...forms.map((u) => u.key), recordsOrphan].sort());
    expect(await runOrphanAudit(deps(buckets))).toMatchObject({ orphanCount: 1, orphans: [{ key: recordsOrphan, retained: true }] });
  });

  it("a staged object under staging/ with a live record is not an orphan; one whose record is gone is, and is deleted", async () => {
    const buckets = bucketsOf("staged");
    const orgId = uniqueId("org");
    // As presign stages them: the linked key under staging/.
    const staged = videos(buckets, orgId, 30).map((u) => ({ ...u, key: `${STAGING_PREFIX}${u.key}` }));
    await stageAndUpload(staged);
    const [lost] = videos(buckets, orgId, 1).map((u) => ({ ...u, key: `${STAGING_PREFIX}${u.key}` }));
    await putObject(buckets.media, lost!.key, bodyOf(lost!));

    const deleted = await runOrphanAudit(deps(buckets), { delete: true });

    expect(deleted).toMatchObject({ orphanCount: 1, orphans: [{ bucket: buckets.media, key: lost!.key }], deleted: 1, failed: [] });
    expect((await keysIn(buckets.media)).sort()).toEqual(staged.map((u) => u.key).sort());
  });

  it("one orphan among many objects is deleted: the breaker counts only objects older than the staging lifetime", async () => {
    const buckets = bucketsOf("one");
    const orgId = uniqueId("org");
    const lifetime = 2;
    const known = videos(buckets, orgId, 30);
    await stageAndUpload(known);
    for (const upload of known) await link(upload);
    const [orphan] = videos(buckets, orgId, 1);
    await putObject(buckets.media, orphan!.key, bodyOf(orphan!));
    await sleep(lifetime * 1000 + 100);
    // Written since: too young to be orphans (uploads in flight, say), yet without records.
    const young = videos(buckets, orgId, 3);
    for (const upload of young) await putObject(buckets.media, upload.key, bodyOf(upload));

    const report = await runOrphanAudit(deps(buckets, { stagingLifetimeSeconds: lifetime, clock: { now: () => Date.now() } }), { delete: true });

    // 4 of 34 objects have no record (11.8 %), but only 1 of the 31 old ones is an orphan (3.23 %).
    expect(report).toMatchObject({ orphanCount: 1, circuitBreakerTripped: false, deleted: 1, failed: [] });
    expect(report.buckets[0]).toEqual({
      bucket: buckets.media,
      objects: 34,
      unknown: 4,
      youngUnknown: 3,
      orphans: 1,
      orphanBytes: bodyOf(orphan!).length,
      oldObjects: 31,
      unknownPercent: 3.23,
      circuitBreakerTripped: false,
    });
    expect((await keysIn(buckets.media)).sort()).toEqual([...known, ...young].map((u) => u.key).sort());
  });

  it("one orphan in a small bucket is deleted: a share of 25 % is no outage when it is one object", async () => {
    const buckets = bucketsOf("small");
    const orgId = uniqueId("org");
    const known = videos(buckets, orgId, 3);
    await stageAndUpload(known);
    for (const upload of known) await link(upload);
    const [orphan] = videos(buckets, orgId, 1);
    await putObject(buckets.media, orphan!.key, bodyOf(orphan!));

    const report = await runOrphanAudit(deps(buckets), { delete: true });

    expect(report).toMatchObject({ orphanCount: 1, circuitBreakerTripped: false, deleted: 1, failed: [] });
    expect(report.buckets[0]).toMatchObject({ oldObjects: 4, orphans: 1, unknownPercent: 25, circuitBreakerTripped: false });
    expect((await keysIn(buckets.media)).sort()).toEqual(known.map((u) => u.key).sort());

    // The same bucket with more than BREAKER_MIN_ORPHANS orphans (records lost): nothing deleted.
    // (Three or more orphans among its three known objects would trip it too: more orphans than known.)
    const lost = videos(buckets, orgId, BREAKER_MIN_ORPHANS + 1);
    for (const upload of lost) await putObject(buckets.media, upload.key, bodyOf(upload));
    const tripped = await runOrphanAudit(deps(buckets), { delete: true });
    expect(tripped).toMatchObject({ orphanCount: BREAKER_MIN_ORPHANS + 1, circuitBreakerTripped: true, deleted: 0 });
    expect(await keysIn(buckets.media)).toHaveLength(3 + BREAKER_MIN_ORPHANS + 1);
  });

  it("the breaker counts per bucket: a tripped compliance bucket keeps its orphans, the media bucket's orphan is still deleted", async () => {
    const buckets = bucketsOf("split");
    const orgId = uniqueId("org");
    const known = videos(buckets, orgId, 30);
    await stageAndUpload(known);
    for (const upload of known) await link(upload);
    const [mediaOrphan] = videos(buckets, orgId, 1);
    await putObject(buckets.media, mediaOrphan!.key, bodyOf(mediaOrphan!));
    // All of the bucket (no known objects left): lost records, not a few orphans.
    const lost = complianceUploads(buckets, orgId, 2);
    for (const upload of lost) await putObject(buckets.compliance, upload.key, bodyOf(upload), "application/pdf");
    const log = recordingLog();

    const report = await runOrphanAudit(deps(buckets, { log }), { delete: true });

    expect(report).toMatchObject({ orphanCount: 3, circuitBreakerTripped: true, deleted: 1, failed: [] });
    expect(report.buckets.map((b) => [b.bucket, b.unknownPercent, b.circuitBreakerTripped])).toEqual([
      [buckets.media, 3.23, false],
      [buckets.compliance, 100, true],
    ]);
    expect(log.errors.map((e) => ((e.fields?.buckets ?? []) as { bucket: string }[]).map((b) => b.bucket))).toEqual([[buckets.compliance]]);
    expect((await keysIn(buckets.media)).sort()).toEqual(known.map((u) => u.key).sort());
    expect((await keysIn(buckets.compliance)).sort()).toEqual(lost.map((u) => u.key).sort());
  });

  it("never reports or deletes an object without a record that is younger than the staging lifetime", async () => {
    const buckets = bucketsOf("young");
    const [young] = videos(buckets, uniqueId("org"), 1);
    await putObject(buckets.media, young!.key, bodyOf(young!));

    const now = await runOrphanAudit(deps(buckets, { clock: { now: () => Date.now() }, maxUnknownPercent: 100 }), { delete: true });
    const almost = await runOrphanAudit(deps(buckets, { clock: { now: () => Date.now() + (STAGING_LIFETIME_SECONDS - 30) * 1000 }, maxUnknownPercent: 100 }), {
      delete: true,
    });

    for (const report of [now, almost]) {
      expect(report).toMatchObject({ orphanCount: 0, orphans: [], deleted: 0, circuitBreakerTripped: false });
      expect(report.buckets[0]).toMatchObject({ objects: 1, unknown: 1, youngUnknown: 1, orphans: 0 });
    }
    expect(await keysIn(buckets.media)).toEqual([young!.key]);
  });
});
