/**
 * A presigned URL outlives its record: after a cancel, a consume that refused the content, or a
 * direct signature upload requested again, the URL still works until it expires. These tests PUT
 * through such URLs against the SigV4-checking S3 server, on real Redis through both drivers, and
 * show that the sweeper deletes what landed once the URL's watch ends — and that no quota counts it.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createIoredisClient } from "@fitkit/core/adapters/redis/ioredis-driver";
import type { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { SdkUrlSigner } from "@fitkit/core/adapters/s3/sdk-url-signer";
import type { Identity } from "@fitkit/core/auth/identity";
import { signParts } from "@fitkit/core/multipart/sign-parts";
import { STAGING_PREFIX } from "@fitkit/core/policies/object-keys";
import { requestSignatureUpload } from "@fitkit/core/signatures/direct-signature-upload";
import { hashToken } from "@fitkit/core/signatures/signature-tokens";
import { cancelUpload } from "@fitkit/core/staging/cancel";
import { consume } from "@fitkit/core/staging/consume";
import { presign } from "@fitkit/core/staging/presign";
import { sweep } from "@fitkit/core/staging/sweeper";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { mp4Bytes, pdfBytes, pngImage, zipBytes } from "../support/media.js";
import { sleep, uniqueId } from "./support/fixtures.js";
import { RedisBackends } from "./support/staging-adapters.js";

const MEDIA = "media-watch";
const COMPLIANCE = "compliance-watch";
/** URLs live 2 s and the grace is 1 s: the watch of every upload here ends 3 s after it was staged. */
const settings = {
  presignTtlSeconds: 2,
  stagingGraceSeconds: 1,
  orgQuotaBytes: 1_000_000,
  userInFlightBytes: 1_000_000,
  presignRatePerMinute: 1000,
  publicPutRatePerMinute: 1000,
  multipartMaxLifetimeSeconds: 60,
};
const WATCH_ENDS_MS = 3100;

const backends = new RedisBackends();
let flushClient: Redis;
let s3: EmbeddedS3;
let objects: S3ObjectStore;
let signer: SdkUrlSigner;

beforeAll(async () => {
  [, s3] = await Promise.all([
    backends.start(),
    mkdtemp(join(tmpdir(), "fitkit-s3-")).then((directory) => startEmbeddedS3({ directory, buckets: [MEDIA, COMPLIANCE] })),
  ]);
  flushClient = createIoredisClient(backends.redis.url);
  const connection = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  objects = new S3ObjectStore(createS3Client(connection));
  signer = new SdkUrlSigner(connection);
}, 60_000);
afterAll(async () => {
  flushClient?.disconnect();
  await backends.close();
  await s3?.close();
});
// Both drivers share one redis-server: each test starts from an empty URL watch.
beforeEach(async () => {
  await flushClient.flushall();
});

const png = pngImage();
const put = (url: string, headers: Record<string, string>, body: Uint8Array) =>
  fetch(url, { method: "PUT", headers, body: body as BodyInit }).then(async (res) => {
    await res.arrayBuffer();
    return res.status;
  });
const exists = async (bucket: string, key: string) => (await objects.head(bucket, key)) !== null;
/** Where a media upload's URLs write: its announced (linked) key under staging/. */
const staged = (key: string) => `${STAGING_PREFIX}${key}`;

describe.each(["ioredis", "upstash"] as const)("the URL watch on %s", (adapter) => {
  let store: RedisStore;
  beforeAll(() => {
    store = backends.store(adapter) as RedisStore;
  });

  const member = (): Identity => ({ userId: uniqueId("user"), orgId: uniqueId("org"), role: "member" });
  const presignDeps = () => ({ store, signer, objects, settings, mediaBucket: MEDIA });
  const sweepNow = () => sweep({ store, objects, complianceBucket: COMPLIANCE });

  /** Nothing names the key: no upload record, no link, and the org's counters are at zero. */
  async function expectUnaccounted(orgId: string, uploadId: string, bucket: string, key: string) {
    expect(await store.uploadRecords([uploadId])).toEqual([null]);
    expect(await store.linkedObjects([{ bucket, key }])).toEqual([null]);
    expect(await store.usage(orgId, settings.orgQuotaBytes)).toEqual({ used: 0, reserved: 0, quota: settings.orgQuotaBytes });
  }

  it("bytes PUT again after a cancel land unaccounted; the sweep deletes them once the URL's watch ends, not before", async () => {
    const identity = member();
    const { uploads } = await presign(presignDeps(), identity, { ownerType: "progress_photo", files: [{ contentType: "image/png", size: png.length }] });
    const upload = uploads[0]!;
    if (upload.mode !== "single") throw new Error("expected a single PUT");
    expect(await put(upload.url, upload.headers, png)).toBe(200);
    await cancelUpload({ store, objects }, identity, upload.uploadId);

    // The attack: the URL still works, and what it stores is named by nothing.
    expect(await put(upload.url, upload.headers, png)).toBe(200);
    expect(await exists(MEDIA, staged(upload.key))).toBe(true);
    await expectUnaccounted(identity.orgId!, upload.uploadId, MEDIA, staged(upload.key));

    const early = await sweepNow();
    expect([early.watchedDeleted, await exists(MEDIA, staged(upload.key))]).toEqual([0, true]);
    await sleep(WATCH_ENDS_MS);
    const report = await sweepNow();

    expect(report).toMatchObject({ watchedDeleted: 1, watchedRemaining: 0, failed: 0 });
    expect(await exists(MEDIA, staged(upload.key))).toBe(false);
    await expectUnaccounted(identity.orgId!, upload.uploadId, MEDIA, staged(upload.key));
    // The watch is over: a later sweep finds nothing more to do.
    expect((await sweepNow()).watchedDeleted).toBe(0);
  });

  it("bytes PUT again after consume refused the content (CONTENT_MISMATCH) are deleted by the sweep; nothing counts them", async () => {
    const identity = member();
    const zip = zipBytes();
    const { uploads } = await presign(presignDeps(), identity, { ownerType: "progress_photo", files: [{ contentType: "image/png", size: zip.length }] });
    const upload = uploads[0]!;
    if (upload.mode !== "single") throw new Error("expected a single PUT");
    expect(await put(upload.url, upload.headers, zip)).toBe(200);
    const refused = consume(
      { store, objects },
      { uploadIds: [upload.uploadId], ownerType: "progress_photo", owner: { orgId: identity.orgId!, userId: identity.userId }, idempotencyKey: uniqueId("k") },
    );
    await expect(refused).rejects.toMatchObject({ code: "CONTENT_MISMATCH" });
    expect(await exists(MEDIA, staged(upload.key))).toBe(false);

    expect(await put(upload.url, upload.headers, zip)).toBe(200);
    await expectUnaccounted(identity.orgId!, upload.uploadId, MEDIA, staged(upload.key));
    await sleep(WATCH_ENDS_MS);
    expect(await sweepNow()).toMatchObject({ watchedDeleted: 1, failed: 0 });

    expect(await exists(MEDIA, staged(upload.key))).toBe(false);
    await expectUnaccounted(identity.orgId!, upload.uploadId, MEDIA, staged(upload.key));
  });

  it("the first URL of a direct signature upload requested again stays watched: what lands there is deleted", async () => {
    const orgId = uniqueId("org");
    const token = randomBytes(32).toString("base64url");
    await store.putSignatureToken({ tokenHash: hashToken(token), orgId, formId: "form_1", submissionId: "sub_1" }, 3600);
    const deps = { store, tokens: store, objects, signer, settings, complianceBucket: COMPLIANCE };
    const caller = { token, clientIp: "198.51.100.7" };
    const pdf = pdfBytes();
    const first = await requestSignatureUpload(deps, caller, { contentType: "application/pdf", size: pdf.length });
    const second = await requestSignatureUpload(deps, caller, { contentType: "application/pdf", size: pdf.length });

    // The replaced upload's URL still stores bytes; only the second upload is counted.
    expect(await put(first.url, first.headers, pdf)).toBe(200);
    expect(await store.uploadRecords([first.uploadId])).toEqual([null]);
    expect(await store.usage(orgId, settings.orgQuotaBytes)).toMatchObject({ used: 0, reserved: pdf.length });
    await sleep(WATCH_ENDS_MS);
    const report = await sweepNow();

    expect(report).toMatchObject({ watchedDeleted: 1, failed: 0 });
    expect(await exists(COMPLIANCE, first.key)).toBe(false);
    // The second upload's deadline passed too: the deadline sweep took it and gave its bytes back.
    expect(report.deleted).toBe(1);
    expect(await store.usage(orgId, settings.orgQuotaBytes)).toMatchObject({ used: 0, reserved: 0 });
    expect(second.key).not.toBe(first.key);
  });

  it("a cancelled multipart upload refuses parts; one left open (its abort failed) is aborted when the watch ends", async () => {
    const identity = member();
    const video = mp4Bytes();
    const presignVideo = async () => {
      const { uploads } = await presign(presignDeps(), identity, {
        ownerType: "exercise_comment",
        files: [{ contentType: "video/mp4", size: video.length, multipart: true }],
      });
      const upload = uploads[0]!;
      const { parts } = await signParts({ store, signer, settings }, identity, upload.uploadId, { partNumbers: [1] });
      return { upload, part: parts[0]! };
    };

    // Cancelled: storage's upload is aborted, so its part URL stores nothing.
    const cancelled = await presignVideo();
    await cancelUpload({ store, objects }, identity, cancelled.upload.uploadId);
    expect(await put(cancelled.part.url, cancelled.part.headers, video)).toBe(404);

    // Discarded with storage's upload left open (as when the abort after the discard fails): parts still land.
    const leftOpen = await presignVideo();
    const [record] = await store.uploadRecords([leftOpen.upload.uploadId]);
    await store.discardStaged([leftOpen.upload.uploadId], identity.orgId!);
    expect(await put(leftOpen.part.url, leftOpen.part.headers, video)).toBe(200);
    expect(await objects.listParts(MEDIA, staged(leftOpen.upload.key), record!.multipart!.storageUploadId)).toHaveLength(1);

    await sleep(WATCH_ENDS_MS);
    const report = await sweepNow();

    expect(report).toMatchObject({ watchedDeleted: 2, failed: 0 });
    expect(await objects.listParts(MEDIA, staged(leftOpen.upload.key), record!.multipart!.storageUploadId)).toBeNull();
    expect(await store.usage(identity.orgId!, settings.orgQuotaBytes)).toMatchObject({ used: 0, reserved: 0 });
  });

  it("a consumed object still linked when its watch ends is kept", async () => {
    const identity = member();
    const { uploads } = await presign(presignDeps(), identity, { ownerType: "progress_photo", files: [{ contentType: "image/png", size: png.length }] });
    const upload = uploads[0]!;
    if (upload.mode !== "single") throw new Error("expected a single PUT");
    expect(await put(upload.url, upload.headers, png)).toBe(200);
    await consume(
      { store, objects },
      { uploadIds: [upload.uploadId], ownerType: "progress_photo", owner: { orgId: identity.orgId!, userId: identity.userId }, idempotencyKey: uniqueId("k") },
    );
    await sleep(WATCH_ENDS_MS);

    expect(await sweepNow()).toMatchObject({ watchedDeleted: 0, watchedRemaining: 0, failed: 0 });
    expect(await exists(MEDIA, upload.key)).toBe(true);
    expect(await store.usage(identity.orgId!, settings.orgQuotaBytes)).toMatchObject({ used: png.length, reserved: 0 });
  });

  it("bytes PUT again to the staged key after consume promoted it are deleted when the watch ends; the linked copy stays", async () => {
    const identity = member();
    const { uploads } = await presign(presignDeps(), identity, { ownerType: "progress_photo", files: [{ contentType: "image/png", size: png.length }] });
    const upload = uploads[0]!;
    if (upload.mode !== "single") throw new Error("expected a single PUT");
    expect(await put(upload.url, upload.headers, png)).toBe(200);
    // A short hold: the promotion hold (15 min by default) would push the deadline, and the watch, past the test.
    await consume(
      { store, objects, promotionHoldSeconds: 1 },
      { uploadIds: [upload.uploadId], ownerType: "progress_photo", owner: { orgId: identity.orgId!, userId: identity.userId }, idempotencyKey: uniqueId("k") },
    );
    expect([await exists(MEDIA, staged(upload.key)), await exists(MEDIA, upload.key)]).toEqual([false, true]);

    // The URL still works until it expires: what it stores now lands on the staged key, linked by nothing.
    expect(await put(upload.url, upload.headers, png)).toBe(200);
    expect(await exists(MEDIA, staged(upload.key))).toBe(true);
    await sleep(WATCH_ENDS_MS);
    const report = await sweepNow();

    expect(report).toMatchObject({ watchedDeleted: 1, watchedRemaining: 0, failed: 0 });
    expect([await exists(MEDIA, staged(upload.key)), await exists(MEDIA, upload.key)]).toEqual([false, true]);
    expect(await store.usage(identity.orgId!, settings.orgQuotaBytes)).toMatchObject({ used: png.length, reserved: 0 });
  });
});
