/**
 * Erasure on real parts (issue 28's "done when"): real Redis (ioredis), the SigV4-checking S3 server
 * with the retention lock emulated on records/, real photos and a real video processed by the
 * process-media worker (sharp, ffmpeg), the publish path. One member gets processed photos, a
 * video with its poster, a message image, a published logo, a staged upload, an open multipart
 * upload, and the org a signature under records/; then erase-user runs — uninterrupted in one org,
 * and in a twin org in batches of one, stopped every few batches and crashed between its steps —
 * and both must end in the same state: nothing of that member in any bucket (the video's playback
 * copy, looked up by name, included; signed-urls answers NOT_LINKED for every erased key), the
 * record kept, another member and the org's figures intact.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FfmpegVideoCodec } from "@fitkit/core/adapters/ffmpeg/ffmpeg-video-codec";
import { RedisErasures } from "@fitkit/core/adapters/redis/redis-erasures";
import type { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { FastUrlSigner } from "@fitkit/core/adapters/s3/fast-url-signer";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { runOrphanAudit } from "@fitkit/core/audit/orphan-audit";
import type { OwnerType } from "@fitkit/core/contract/catalog";
import { type EraseDeps, type EraseResponse, eraseOrg, eraseUser } from "@fitkit/core/erasure/erase";
import { exportUser } from "@fitkit/core/erasure/export-user";
import { processMedia } from "@fitkit/core/media/process-media";
import { incomingComplianceKey, mediaKey, RECORDS_PREFIX } from "@fitkit/core/policies/object-keys";
import { NO_EDGE_CACHE } from "@fitkit/core/publishing/edge-cache";
import { publish } from "@fitkit/core/publishing/publish";
import { signedUrls } from "@fitkit/core/signed-urls/signed-urls";
import { consume } from "@fitkit/core/staging/consume";
import { presign } from "@fitkit/core/staging/presign";
import type { ObjectStore } from "@fitkit/core/storage/object-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findOnPath } from "../functions/lib/deps/ffmpeg.js";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { phoneJpeg, pngImage } from "../support/media.js";
import { testVideo } from "../support/video.js";
import { newUpload, sha256Base64, uniqueId } from "./support/fixtures.js";
import { imageCodecs } from "./support/image-codecs.js";
import { RedisBackends } from "./support/staging-adapters.js";

const MEDIA = "media";
const COMPLIANCE = "compliance";
const PUBLIC = "public";
const RECORDS = "records";
const BUCKETS = { media: MEDIA, compliance: COMPLIANCE, records: RECORDS };
const videoCodec = new FfmpegVideoCodec({ ffmpegPath: findOnPath("ffmpeg")!, ffprobePath: findOnPath("ffprobe")!, prlimitPath: findOnPath("prlimit")! });
const QUOTA = 1e9;
const RETENTION_SECONDS = 7 * 365 * 24 * 3600;
const SETTINGS = {
  presignTtlSeconds: 600,
  stagingGraceSeconds: 60,
  orgQuotaBytes: QUOTA,
  userInFlightBytes: QUOTA,
  presignRatePerMinute: 1000,
  multipartThresholdBytes: 64 << 20,
};

let s3: EmbeddedS3;
let objects: S3ObjectStore;
let signer: FastUrlSigner;
const backends = new RedisBackends();
let store: RedisStore;
let erasures: RedisErasures;
let video: Buffer;

beforeAll(async () => {
  await backends.start();
  store = backends.store("ioredis") as RedisStore;
  erasures = new RedisErasures(store.redis);
  s3 = await startEmbeddedS3({
    directory: await mkdtemp(join(tmpdir(), "fitkit-erasure-")),
    buckets: [MEDIA, COMPLIANCE, RECORDS, PUBLIC],
    retentionLocks: [{ bucket: RECORDS, prefix: RECORDS_PREFIX }],
  });
  const connection = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  objects = new S3ObjectStore(createS3Client(connection));
  signer = new FastUrlSigner(connection);
  video = await testVideo({ width: 320, height: 240, seconds: 2 });
}, 60_000);
afterAll(async () => {
  await s3?.close();
  await backends.close();
});

/** Erasure's dependencies; `objects` may be a faulty wrapper (a crash injected between steps). */
function eraseDeps(over: Partial<EraseDeps> = {}): EraseDeps {
  return {
    erasures,
    store,
    links: store,
    variants: store,
    objects,
    buckets: BUCKETS,
    unpublishing: { published: store, public: { name: PUBLIC, baseUrl: "https://media.example.test/", objects }, edgeCache: NO_EDGE_CACHE },
    recordsRetentionSeconds: RETENTION_SECONDS,
    recordsBucket: RECORDS,
    ...over,
  };
}

/** Stages, stores and consumes `bytes` as `userId`'s upload, then processes it as the worker does. */
async function linked(orgId: string, userId: string, ownerType: OwnerType, bytes: Buffer, contentType: string): Promise<string> {
  const upload = newUpload({ orgId, userId, ownerType, contentType, size: bytes.length, bucket: MEDIA });
  upload.key = mediaKey({ orgId, ownerType, userId, uploadId: upload.uploadId, contentType });
  expect(await store.stage({ uploads: [upload], lifetimeSeconds: 600, quota: { orgId, defaultQuotaBytes: QUOTA } })).toMatchObject({ ok: true });
  await objects.put({ bucket: MEDIA, key: upload.key, body: bytes, contentType, checksumSha256: sha256Base64(bytes) });
  await consume(
    { store, objects, complianceBucket: COMPLIANCE, recordsBucket: RECORDS },
    { uploadIds: [upload.uploadId], ownerType, owner: { orgId, userId }, idempotencyKey: uniqueId("k") },
  );
  expect(await processMedia({ objects, variants: store, images: imageCodecs, videoCodec }, { bucket: MEDIA, key: upload.key, contentType, orgId })).toBe(
    "ready",
  );
  return upload.key;
}

/** Everything issue 28 lists, for `member` in `orgId`, plus another member's photo and the org's signature record. */
async function populate(orgId: string, member: string, other: string) {
  const photo = await linked(orgId, member, "progress_photo", phoneJpeg(900, 600), "image/jpeg");
  const clip = await linked(orgId, member, "exercise_comment", video, "video/mp4");
  const message = await linked(orgId, member, "message", phoneJpeg(400, 300), "image/jpeg");
  const logo = await linked(orgId, member, "organization_logo", pngImage(300, 200), "image/png");
  const published = await publish(
    {
      mediaBucket: MEDIA,
      media: objects,
      variants: store,
      published: store,
      public: { name: PUBLIC, baseUrl: "https://media.example.test/", objects },
      images: imageCodecs.codec,
    },
    { orgId, key: logo },
  );
  const otherPhoto = await linked(orgId, other, "progress_photo", phoneJpeg(800, 600), "image/jpeg");

  // A staged upload whose bytes landed (never consumed), through presign as an app makes it.
  const settings = SETTINGS;
  const staged = phoneJpeg(320, 240);
  const presigned = await presign(
    { store, signer, objects, mediaBucket: MEDIA, settings },
    { userId: member, orgId, role: "admin" },
    { ownerType: "progress_photo", files: [{ contentType: "image/jpeg", size: staged.length }] },
  );
  const put = presigned.uploads[0]!;
  if (put.mode !== "single") throw new Error("a small photo is one PUT");
  expect((await fetch(put.url, { method: "PUT", headers: put.headers, body: new Uint8Array(staged) })).status).toBe(200);

  // An open multipart upload (a large video, parts not all sent).
  const large = 80 << 20;
  const multipart = await presign(
    { store, signer, objects, mediaBucket: MEDIA, settings },
    { userId: member, orgId, role: "member" },
    { ownerType: "exercise_comment", files: [{ contentType: "video/mp4", size: large }] },
  );
  const open = (await store.uploadRecords([multipart.uploads[0]!.uploadId]))[0]!;
  expect(await objects.listParts(MEDIA, open.key, open.multipart!.storageUploadId)).toEqual([]);

  // A signed form of the org, promoted under the retention lock.
  const signature = newUpload({ orgId, userId: null, ownerType: "form_signature", bucket: COMPLIANCE, contentType: "image/png", size: 0 });
  const signatureBytes = pngImage(40, 20);
  signature.size = signatureBytes.length;
  signature.key = incomingComplianceKey({ orgId, uploadId: signature.uploadId, contentType: "image/png" });
  await store.stage({ uploads: [signature], lifetimeSeconds: 600, quota: { orgId, defaultQuotaBytes: QUOTA } });
  await objects.put({ bucket: COMPLIANCE, key: signature.key, body: signatureBytes, contentType: "image/png", checksumSha256: sha256Base64(signatureBytes) });
  const consumed = await consume(
    { store, objects, complianceBucket: COMPLIANCE, recordsBucket: RECORDS },
    { uploadIds: [signature.uploadId], ownerType: "form_signature", owner: { orgId }, idempotencyKey: uniqueId("k") },
  );
  const record = consumed.uploads[0]!.key;

  return { photo, clip, message, logo, published, otherPhoto, staged: put.key, open, record };
}

/** A video's playback copy, by name, as its link records it (undefined: none recorded). */
async function playbackOf(clip: string): Promise<string | undefined> {
  const [state] = await store.mediaStates([{ bucket: MEDIA, key: clip }]);
  return state?.status === "ready" && "playback" in state.variants ? state.variants.playback.key : undefined;
}

/** What signed-urls answers an admin of the org for a video's playback copy: a URL while it is linked, NOT_LINKED once erased. */
async function playbackUrlOf(orgId: string, clip: string, reader: string) {
  const { urls } = await signedUrls(
    { signer, variants: store, buckets: BUCKETS },
    { userId: reader, orgId, role: "admin" },
    { keys: [clip], variant: "playback", expiresIn: 3600 },
  );
  return urls[0]!.status === "ready" ? "ready" : urls[0]!.code;
}

/** The copies an upload has, as its link records them (a poster, a playback rendition, … whatever the worker makes). */
async function copiesOf(key: string): Promise<number> {
  const [state] = await store.mediaStates([{ bucket: MEDIA, key }]);
  return state?.status === "ready" ? Object.keys(state.variants).length : 0;
}

async function keysOf(bucket: string, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of objects.list(bucket, prefix)) keys.push(...page.map((o) => o.key));
  return keys;
}

/** The bytes a member holds in an org: every media object naming them and the public renditions given. */
async function bytesOf(orgId: string, member: string, renditionKeys: string[]): Promise<number> {
  let sum = 0;
  for await (const page of objects.list(MEDIA, ""))
    for (const o of page) {
      const segments = o.key.split("/");
      if (segments.includes(orgId) && segments.includes(member)) sum += o.size;
    }
  for await (const page of objects.list(PUBLIC, `o/${orgId}/`)) for (const o of page) if (renditionKeys.includes(o.key)) sum += o.size;
  return sum;
}

/** The bytes of an upload and every copy its link records. */
async function uploadBytesOf(key: string): Promise<number> {
  const [linked] = await store.linkedObjects([{ bucket: MEDIA, key }]);
  const heads = await Promise.all([key, ...(linked?.variantKeys ?? [])].map((k) => objects.head(MEDIA, k)));
  return heads.reduce((sum, h) => sum + h!.size, 0);
}

/** What a member leaves in every bucket of an org: keys naming them (uploads, variants) and the public renditions given. */
async function remainsOf(orgId: string, member: string, renditionKeys: string[]) {
  const media = (await keysOf(MEDIA)).filter((k) => k.includes(`/${member}/`));
  const published = (await keysOf(PUBLIC, `o/${orgId}/`)).filter((k) => renditionKeys.includes(k));
  return { media, published };
}

const renditionKeysOf = (answer: { srcset: string; sources: { srcset: string }[] }) =>
  [answer.srcset, ...answer.sources.map((s) => s.srcset)].flatMap((srcset) =>
    srcset.split(", ").map((entry) => entry.split(" ")[0]!.slice("https://media.example.test/".length)),
  );

/** Every step of an erasure with the answered cursor, as a caller does; a thrown step (a crash) is called again with the last cursor answered. */
async function eraseToTheEnd(run: (cursor: string | undefined) => Promise<EraseResponse>) {
  let cursor: string | undefined;
  let steps = 0;
  let crashes = 0;
  for (; steps < 500; steps++) {
    let answer: EraseResponse;
    try {
      answer = await run(cursor);
    } catch (error) {
      crashes += 1;
      if (crashes > 50) throw error;
      continue;
    }
    if (answer.status === "complete") return { receipt: answer.receipt, steps: steps + 1, crashes };
    cursor = answer.cursor;
  }
  throw new Error("the erasure did not complete");
}

/** An object store that crashes after (or instead of) every `every`-th DeleteObjects — the reply lost, or the request never sent. */
function crashingDeletes(every: number): { store: ObjectStore; crashes: () => number } {
  let calls = 0;
  let crashes = 0;
  const store = Object.create(objects) as ObjectStore;
  store.deleteObjects = async (bucket, keys) => {
    calls += 1;
    if (calls % every !== 0) return objects.deleteObjects(bucket, keys);
    crashes += 1;
    // Alternate: once storage deleted and the reply was lost, once nothing was sent.
    if (crashes % 2 === 1) await objects.deleteObjects(bucket, keys);
    throw new Error("injected crash around DeleteObjects");
  };
  return { store, crashes: () => crashes };
}

describe("erase-user", () => {
  it("deletes every object of the member — originals, variants, poster, published renditions, staged and multipart — keeps the record, and leaves the other member and the org's figures intact; a crashed, resumed erasure ends the same", async () => {
    const [orgA, orgB] = [uniqueId("org"), uniqueId("org")];
    const [member, other] = [uniqueId("user"), uniqueId("user")];
    const a = await populate(orgA, member, other);
    const b = await populate(orgB, member, other);
    const renditions = { a: renditionKeysOf(a.published), b: renditionKeysOf(b.published) };
    const copies = { photo: await copiesOf(a.photo), clip: await copiesOf(a.clip), message: await copiesOf(a.message), logo: await copiesOf(a.logo) };
    expect(copies.clip).toBeGreaterThanOrEqual(1);
    expect((await remainsOf(orgA, member, renditions.a)).published.length).toBeGreaterThan(0);
    const otherBefore = (await keysOf(MEDIA)).filter((k) => k.includes(`/${other}/`)).sort();
    expect(otherBefore.length).toBe(2 * (1 + (await copiesOf(a.otherPhoto)))); // two orgs × (the upload and its copies)
    // Each org's own bytes of the member, as listed before any erasure: each org's video is processed on its own and
    // its processed copies may differ from its twin's by a few bytes, so each receipt is checked against its own org.
    const memberBytes = { a: await bytesOf(orgA, member, renditions.a), b: await bytesOf(orgB, member, renditions.b) };
    const clipBytes = { a: await uploadBytesOf(a.clip), b: await uploadBytesOf(b.clip) };
    // The video's playback copy, named and stored, and served while the video is linked.
    const playback = { a: (await playbackOf(a.clip))!, b: (await playbackOf(b.clip))! };
    for (const [orgId, made, key] of [
      [orgA, a, playback.a],
      [orgB, b, playback.b],
    ] as const) {
      expect({ named: key?.endsWith("/playback.mp4"), stored: ((await objects.head(MEDIA, key))?.size ?? 0) > 0 }).toEqual({ named: true, stored: true });
      expect(await playbackUrlOf(orgId, made.clip, other)).toBe("ready");
    }

    // While it runs: presign of that member refused with its code; another member uploads.
    const settings = SETTINGS;
    const presignAs = (userId: string) =>
      presign(
        { store, signer, objects, mediaBucket: MEDIA, settings },
        { userId, orgId: orgB, role: "member" },
        { ownerType: "progress_photo", files: [{ contentType: "image/jpeg", size: 100 }] },
      );
    const first = await eraseUser(eraseDeps(), { orgId: orgB, userId: member, idempotencyKey: "erase-b", batchSize: 1, maxBatches: 1 });
    expect(first.status).toBe("in_progress");
    await expect(presignAs(member)).rejects.toMatchObject({ code: "ERASURE_IN_PROGRESS", status: 409 });
    // (the other member's in-flight upload is discarded again right away so B's figures stay comparable)
    const otherUpload = await presignAs(other);
    await store.discardStaged([otherUpload.uploads[0]!.uploadId], orgB);

    // A: uninterrupted. B: batches of one, two per call, a crash around every second DeleteObjects.
    const plain = await eraseToTheEnd(() => eraseUser(eraseDeps(), { orgId: orgA, userId: member, idempotencyKey: "erase-a", batchSize: 500 }));
    const faulty = crashingDeletes(2);
    const resumed = await eraseToTheEnd((cursor) =>
      eraseUser(eraseDeps({ objects: faulty.store }), {
        orgId: orgB,
        userId: member,
        idempotencyKey: "erase-b",
        batchSize: 1,
        maxBatches: 2,
        ...(cursor ? { cursor } : {}),
      }),
    );
    expect({ plainSteps: plain.steps, crashesInjected: faulty.crashes() >= 2, manySteps: resumed.steps > 5 }).toEqual({
      plainSteps: 1,
      crashesInjected: true,
      manySteps: true,
    });

    for (const [orgId, made, keys, playbackKey] of [
      [orgA, a, renditions.a, playback.a],
      [orgB, b, renditions.b, playback.b],
    ] as const) {
      // Nothing of the member in any bucket; the multipart upload aborted; the record kept.
      expect(await remainsOf(orgId, member, keys)).toEqual({ media: [], published: [] });
      expect(await objects.listParts(MEDIA, made.open.key, made.open.multipart!.storageUploadId)).toBeNull();
      expect(await store.publishedItems(orgId)).toEqual([]);
      expect(await keysOf(RECORDS, `${RECORDS_PREFIX}${orgId}/`)).toEqual([made.record]);
      // Erased keys are no longer linked: signed-urls answers NOT_LINKED, never a URL.
      const urls = await signedUrls(
        { signer, variants: store, buckets: BUCKETS },
        { userId: other, orgId, role: "admin" },
        { keys: [made.photo, made.message, made.logo], variant: "display", expiresIn: 3600 },
      );
      expect(urls.urls.map((u) => u.code)).toEqual(["NOT_LINKED", "NOT_LINKED", "NOT_LINKED"]);
      // The video too: its playback copy, asked for by name, is gone, and signed-urls answers NOT_LINKED for it.
      expect({ playback: await objects.head(MEDIA, playbackKey), url: await playbackUrlOf(orgId, made.clip, other) }).toEqual({
        playback: null,
        url: "NOT_LINKED",
      });
      expect(await store.linkedObjects([made.clip, made.photo].map((key) => ({ bucket: MEDIA, key })))).toEqual([null, null]);
      // The other member's photo and variants stay, linked; the org's figures are the other member's and the record's.
      expect(await store.mediaStates([{ bucket: MEDIA, key: made.otherPhoto }])).toEqual([expect.objectContaining({ status: "ready" })]);
      const otherLinked = (await store.linkedObjects([{ bucket: MEDIA, key: made.otherPhoto }]))[0]!;
      const otherVariantBytes = (await Promise.all(otherLinked.variantKeys!.map((k) => objects.head(MEDIA, k)))).reduce((sum, h) => sum + h!.size, 0);
      const recordBytes = (await objects.head(RECORDS, made.record))!.size;
      expect(await store.usage(orgId, QUOTA)).toEqual({ used: otherLinked.size + otherVariantBytes + recordBytes, reserved: 0, quota: QUOTA });
    }
    expect((await keysOf(MEDIA)).filter((k) => k.includes(`/${other}/`)).sort()).toEqual(otherBefore);

    // The same end state, the same counts: every kind of copy counted once per upload, whatever crashed.
    const counts = (receipt: typeof plain.receipt) => ({
      deleted: Object.fromEntries(Object.entries(receipt.deleted).map(([kind, d]) => [kind, { uploads: d.uploads, objects: d.objects }])),
      objects: receipt.objects,
      retained: receipt.retained,
    });
    expect(counts(resumed.receipt)).toEqual(counts(plain.receipt));
    // The bytes: exactly what each org held of the member — nothing counted twice or lost across the crashes.
    const bytesCounted = (receipt: typeof plain.receipt) => ({
      total: receipt.bytes,
      ofKinds: Object.values(receipt.deleted).reduce((sum, d) => sum + d.bytes, 0),
      video: receipt.deleted.exercise_comment?.bytes,
    });
    expect(bytesCounted(plain.receipt)).toEqual({ total: memberBytes.a, ofKinds: memberBytes.a, video: clipBytes.a });
    expect(bytesCounted(resumed.receipt)).toEqual({ total: memberBytes.b, ofKinds: memberBytes.b, video: clipBytes.b });
    expect(plain.receipt.deleted).toEqual({
      // The photo with its variants, and the staged photo whose bytes had landed.
      progress_photo: { uploads: 2, objects: 2 + copies.photo, bytes: expect.any(Number) },
      // The video and its copies (the multipart upload had no object yet: aborted, nothing to count).
      exercise_comment: { uploads: 1, objects: 1 + copies.clip, bytes: expect.any(Number) },
      message: { uploads: 1, objects: 1 + copies.message, bytes: expect.any(Number) },
      // The logo, its variants and every public rendition.
      organization_logo: { uploads: 1, objects: 1 + copies.logo + renditions.a.length, bytes: expect.any(Number) },
    });
    // Signatures are the org's, not the member's: nothing retained in the member's name.
    expect(plain.receipt.retained).toMatchObject({ objects: 0, until: null, items: [] });

    // Asked again under the same key: the stored receipt, nothing done. Afterwards the member may upload again.
    expect(await eraseUser(eraseDeps(), { orgId: orgA, userId: member, idempotencyKey: "erase-a", batchSize: 500 })).toEqual({
      status: "complete",
      receipt: plain.receipt,
    });
    expect((await presignAs(member)).uploads).toHaveLength(1);

    // The orphan audit finds nothing left behind (every unknown object counts as old here).
    const audit = await runOrphanAudit({ uploads: store, links: store, objects, buckets: BUCKETS, stagingLifetimeSeconds: 0, maxUnknownPercent: 100 });
    expect(audit.orphans.filter((o) => o.key.includes(member))).toEqual([]);
  }, 180_000);
});

describe("erase-org", () => {
  it("erases every member's uploads and the published minisite, deletes unconsumed signatures, and lists the records the lock keeps with their end", async () => {
    const orgId = uniqueId("org");
    const [member, other] = [uniqueId("user"), uniqueId("user")];
    const made = await populate(orgId, member, other);
    const pending = newUpload({ orgId, userId: null, ownerType: "form_signature", bucket: COMPLIANCE, contentType: "image/png", size: 10 });
    pending.key = incomingComplianceKey({ orgId, uploadId: pending.uploadId, contentType: "image/png" });
    await store.stage({ uploads: [pending], lifetimeSeconds: 600, quota: { orgId, defaultQuotaBytes: QUOTA } });
    await objects.put({
      bucket: COMPLIANCE,
      key: pending.key,
      body: Buffer.alloc(10, 1),
      contentType: "image/png",
      checksumSha256: sha256Base64(Buffer.alloc(10, 1)),
    });
    const photoObjects = 3 + (await copiesOf(made.photo)) + (await copiesOf(made.otherPhoto));
    const recordWritten = (await objects.list(RECORDS, made.record)[Symbol.asyncIterator]().next()).value![0]!.lastModified;

    const { receipt } = await eraseToTheEnd((cursor) =>
      eraseOrg(eraseDeps(), { orgId, idempotencyKey: "leaving", batchSize: 3, ...(cursor ? { cursor } : {}) }),
    );

    expect((await keysOf(MEDIA)).filter((k) => k.includes(`${orgId}/`))).toEqual([]);
    expect(await keysOf(PUBLIC, `o/${orgId}/`)).toEqual([]);
    expect(await keysOf(COMPLIANCE, `incoming/${orgId}/`)).toEqual([]);
    expect(await keysOf(RECORDS, `${RECORDS_PREFIX}${orgId}/`)).toEqual([made.record]);
    expect(await store.usage(orgId, QUOTA)).toEqual({ used: (await objects.head(RECORDS, made.record))!.size, reserved: 0, quota: QUOTA });
    expect(receipt).toMatchObject({
      orgId,
      userId: null,
      deleted: { progress_photo: { uploads: 3, objects: photoObjects }, form_signature: { uploads: 1, objects: 1, bytes: 10 } },
      retained: {
        objects: 1,
        until: new Date(recordWritten + RETENTION_SECONDS * 1000).toISOString(),
        items: [{ bucket: RECORDS, key: made.record, size: expect.any(Number), until: new Date(recordWritten + RETENTION_SECONDS * 1000).toISOString() }],
        truncated: false,
      },
    });
  }, 120_000);
});

describe("export-user", () => {
  it("pages the member's linked uploads with facts and URLs of processed copies only — never an image's uploaded bytes", async () => {
    const orgId = uniqueId("org");
    const [member, other] = [uniqueId("user"), uniqueId("user")];
    const made = await populate(orgId, member, other);

    const uploads = [];
    let cursor: string | null | undefined;
    let pages = 0;
    do {
      const page = await exportUser(
        { objects, links: store, signing: { signer, variants: store, buckets: BUCKETS } },
        { orgId, userId: member, pageSize: 2, expiresIn: 3600, ...(cursor ? { cursor } : {}) },
      );
      uploads.push(...page.uploads);
      cursor = page.cursor;
      pages += 1;
    } while (cursor && pages < 50);

    // Linked ones only (not the staged photo), each once, in owner-type then key order.
    expect(uploads.map((u) => u.key).sort()).toEqual([made.photo, made.clip, made.message, made.logo].sort());
    for (const upload of uploads) {
      expect(upload).toMatchObject({ status: "ready", url: expect.any(String), width: expect.any(Number), height: expect.any(Number) });
      const url = new URL(upload.url!);
      if (upload.contentType.startsWith("image/")) {
        // The processed copy under variants/, not the uploaded key.
        expect(url.pathname).toMatch(/\/variants\//);
        expect(upload.copy).toBe("original");
      }
      const response = await fetch(upload.url!);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    // As displayed: the phone's photo is 900×600 with EXIF orientation 6.
    const photo = uploads.find((u) => u.key === made.photo)!;
    expect(photo).toMatchObject({ ownerType: "progress_photo", contentType: "image/jpeg", width: 600, height: 900, createdAt: expect.any(String) });
  }, 120_000);
});
