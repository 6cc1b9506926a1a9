/**
 * Response headers on real parts (the SigV4-checking embedded S3 server): an uploader cannot set
 * the headers other readers receive. A presigned PUT signs only the headers of SIGNED_PUT_HEADERS,
 * so storage keeps any other header the client adds; consume refuses such an object, and every
 * signed GET pins the headers that matter whatever storage kept.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { MemoryStore } from "@fitkit/core/adapters/memory/memory-store";
import { FastUrlSigner } from "@fitkit/core/adapters/s3/fast-url-signer";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import type { Identity } from "@fitkit/core/auth/identity";
import { mediaKey, STAGING_PREFIX, variantKey } from "@fitkit/core/policies/object-keys";
import type { OwnerType } from "@fitkit/core/policies/owner-types";
import { signedUrls } from "@fitkit/core/signed-urls/signed-urls";
import { cancelUpload } from "@fitkit/core/staging/cancel";
import { consume } from "@fitkit/core/staging/consume";
import { presign } from "@fitkit/core/staging/presign";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { mp4Bytes, pngImage } from "../support/media.js";
import { uniqueId } from "./support/fixtures.js";
import { singlePut } from "./support/http.js";

const MEDIA = "media-headers";
const COMPLIANCE = "compliance-headers";
const RECORDS = "records-headers";
const buckets = { media: MEDIA, compliance: COMPLIANCE, records: RECORDS };
let s3: EmbeddedS3;
let client: ReturnType<typeof createS3Client>;
let objects: S3ObjectStore;
let signer: FastUrlSigner;
const store = new MemoryStore();
const settings = { presignTtlSeconds: 600, stagingGraceSeconds: 600, orgQuotaBytes: 1e12, userInFlightBytes: 1e12, presignRatePerMinute: 10_000 };

beforeAll(async () => {
  s3 = await startEmbeddedS3({ directory: await mkdtemp(join(tmpdir(), "fitkit-s3-")), buckets: [MEDIA, COMPLIANCE, RECORDS] });
  const connection = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  client = createS3Client(connection);
  objects = new S3ObjectStore(client);
  signer = new FastUrlSigner(connection);
});
afterAll(() => s3?.close());

const member = (): Identity => ({ userId: uniqueId("user"), orgId: uniqueId("org"), role: "member" });

/** Presigns one file (a PNG progress photo unless told) and PUTs it through the real URL with the signed headers plus `extra`. */
async function uploadWith(
  identity: Identity,
  extra: Record<string, string>,
  file: { ownerType: OwnerType; contentType: string; bytes: Buffer } = { ownerType: "progress_photo", contentType: "image/png", bytes: pngImage(4, 4) },
) {
  const { bytes } = file;
  const {
    uploads: [presigned],
  } = await presign({ store, signer, settings, mediaBucket: MEDIA }, identity, {
    ownerType: file.ownerType,
    files: [{ contentType: file.contentType, size: bytes.length }],
  });
  const single = singlePut(presigned);
  const put = await fetch(single.url, { method: "PUT", headers: { ...single.headers, ...extra }, body: new Uint8Array(bytes) });
  expect(put.status, await put.text()).toBe(200);
  return presigned!;
}

const link = (identity: Identity, uploadId: string) =>
  consume(
    { store, objects },
    { uploadIds: [uploadId], ownerType: "progress_photo", owner: { orgId: identity.orgId!, userId: identity.userId }, idempotencyKey: uniqueId("k") },
  );

describe("consume refuses an object that carries headers the server did not sign", () => {
  it.each([
    ["content-disposition", { "content-disposition": 'attachment; filename="evil.html"' }],
    ["cache-control", { "cache-control": "public, max-age=31536000" }],
    ["cache-control that only starts like a browser's", { "cache-control": "no-cache, public, max-age=31536000" }],
    ["content-encoding", { "content-encoding": "gzip" }],
    ["content-language", { "content-language": "en" }],
    ["expires", { expires: "Thu, 01 Dec 2044 16:00:00 GMT" }],
    ["user metadata", { "x-amz-meta-note": "hello" }],
  ])("%s: 422 CONTENT_MISMATCH, the object deleted and its reservation given back", async (_name, extra) => {
    const who = member();
    const presigned = await uploadWith(who, extra);
    // Storage really kept the header: the check below is not vacuous.
    const before = await client.send(new HeadObjectCommand({ Bucket: MEDIA, Key: `${STAGING_PREFIX}${presigned.key}` }));
    expect(JSON.stringify(before)).toMatch(/max-age=31536000|evil\.html|gzip|"en"|2044|hello/);

    const failure = await link(who, presigned.uploadId).catch((e: unknown) => e);

    expect(failure).toMatchObject({ code: "CONTENT_MISMATCH", status: 422, details: [{ uploadId: presigned.uploadId, code: "CONTENT_MISMATCH" }] });
    expect(await objects.head(MEDIA, `${STAGING_PREFIX}${presigned.key}`)).toBeNull();
    expect(store.uploads.get(presigned.uploadId)).toBeUndefined();
    expect(await store.usage(who.orgId!, settings.orgQuotaBytes)).toEqual({ used: 0, reserved: 0, quota: settings.orgQuotaBytes });
  });

  it("links an object PUT with exactly the signed headers (and the `cache-control: no-cache` fetch adds beside if-none-match)", async () => {
    const who = member();
    const presigned = await uploadWith(who, {});

    const linked = await link(who, presigned.uploadId);

    expect(linked.uploads.map((u) => u.key)).toEqual([presigned.key]);
    expect(await objects.head(MEDIA, presigned.key)).toMatchObject({ contentType: "image/png", servedHeaders: { cacheControl: "no-cache" } });
  });

  it("links an object whose cache-control only keeps caches from keeping it (Chromium sends `max-age=0`)", async () => {
    const who = member();
    const presigned = await uploadWith(who, { "cache-control": "max-age=0, no-store" });

    expect((await link(who, presigned.uploadId)).uploads.map((u) => u.key)).toEqual([presigned.key]);
  });
});

describe("a signed GET pins the response headers, whatever storage kept", () => {
  const hostile = {
    CacheControl: "public, max-age=31536000, immutable",
    ContentDisposition: 'attachment; filename="evil.html"',
    ContentType: "text/html",
    ContentEncoding: "gzip",
    ContentLanguage: "de-CH",
    Metadata: { note: "from the uploader" },
  };

  /** Stores an object with the uploader's headers and links it (as if it had passed consume). */
  async function storeHostile(orgId: string, key: string, bucket = MEDIA) {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: pngImage(), ...hostile }));
    store.linked.set(`${bucket}\u0000${key}`, { orgId, size: pngImage().length });
  }

  /** The headers no signed GET may take from the stored object. */
  const pinned = (read: Response) => [read.headers.get("content-encoding"), read.headers.get("content-language")];

  // Images and videos are served only from their processed copies, which the server writes.
  it("a video's copy is served inline under its server-made name, with a private cache no longer than the URL lives", async () => {
    const who: Identity = { ...member(), role: "admin" };
    const uploadId = "0123456789abcdef0123456789abcdef";
    const key = mediaKey({ orgId: who.orgId!, ownerType: "exercise_comment", userId: who.userId, uploadId, contentType: "video/mp4" });
    const copy = (variant: "original" | "playback" | "poster", extension: string, contentType: string) => ({
      key: variantKey(key, variant, extension),
      contentType,
      size: 10,
    });
    const copies = {
      original: copy("original", "mp4", "video/mp4"),
      playback: copy("playback", "mp4", "video/mp4"),
      poster: copy("poster", "jpg", "image/jpeg"),
    };
    store.linked.set(`${MEDIA}\u0000${key}`, { orgId: who.orgId!, size: 10 });
    await store.recordMedia(
      { bucket: MEDIA, key, orgId: who.orgId! },
      { status: "ready", width: 2, height: 2, durationMs: 1, placeholder: "A", variants: copies },
    );
    await storeHostile(who.orgId!, copies.playback.key);

    const { urls } = await signedUrls({ signer, buckets, variants: store }, who, { keys: [key], expiresIn: 3600, variant: "playback" });
    const read = await fetch(urls[0]!.url!);

    expect(read.status).toBe(200);
    expect(read.headers.get("content-type")).toBe("video/mp4");
    expect(read.headers.get("content-disposition")).toBe(`inline; filename="${uploadId}.mp4"`);
    expect(read.headers.get("cache-control")).toBe("private, max-age=300");
    expect(pinned(read)).toEqual(["identity", "und"]);
  });

  it("a retained record is served from the records bucket as an attachment under its server-made name", async () => {
    const who: Identity = { ...member(), role: "admin" };
    const uploadId = "fedcba9876543210fedcba9876543210";
    const key = `records/${who.orgId}/${uploadId}.pdf`;
    await storeHostile(who.orgId!, key, RECORDS);

    const { urls } = await signedUrls({ signer, buckets, variants: store }, who, { keys: [key], expiresIn: 3600 });
    const read = await fetch(urls[0]!.url!);

    expect(read.status).toBe(200);
    expect(read.headers.get("content-type")).toBe("application/pdf");
    expect(read.headers.get("content-disposition")).toBe(`attachment; filename="${uploadId}.pdf"`);
    expect(read.headers.get("cache-control")).toBe("private, max-age=299");
    expect(pinned(read)).toEqual(["identity", "und"]);
    // No response parameter overrides user metadata (on S3 and R2 alike): only linking keeps it out.
    expect(read.headers.get("x-amz-meta-note")).toBe("from the uploader");
  });

  it("a video PUT again through the URL of a cancelled upload is never signed: NOT_LINKED, whatever it carries", async () => {
    const who = member();
    const video = { ownerType: "exercise_comment" as const, contentType: "video/mp4", bytes: mp4Bytes() };
    const presigned = await uploadWith(who, {}, video);
    await cancelUpload({ store, objects }, who, presigned.uploadId);
    const single = singlePut(presigned);
    const again = await fetch(single.url, {
      method: "PUT",
      headers: { ...single.headers, "content-encoding": "gzip", "content-language": "de-CH", "x-amz-meta-note": "from the uploader" },
      body: new Uint8Array(video.bytes),
    });
    expect(again.status).toBe(200);

    const { urls } = await signedUrls({ signer, buckets, variants: store }, { ...who, role: "admin" }, { keys: [presigned.key], expiresIn: 3600 });

    expect(urls).toEqual([{ key: presigned.key, status: "failed", code: "NOT_LINKED" }]);
  });
});
