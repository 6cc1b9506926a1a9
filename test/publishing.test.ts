/**
 * Publishing on real parts: real photos (exiftool-written GPS and serial number), consume and the
 * process-media worker on real Redis (ioredis) and the SigV4-checking S3 server, then publish,
 * unpublish and release through the use-cases, reading what a public reader would get.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import type { OwnerType } from "@fitkit/core/contract/catalog";
import { processMedia } from "@fitkit/core/media/process-media";
import { mediaKey } from "@fitkit/core/policies/object-keys";
import { NO_EDGE_CACHE } from "@fitkit/core/publishing/edge-cache";
import { type PublishDeps, publish, type UnpublishDeps, unpublish } from "@fitkit/core/publishing/publish";
import { IMMUTABLE_CACHE_CONTROL, RENDITION_WIDTHS } from "@fitkit/core/publishing/renditions";
import { release } from "@fitkit/core/quotas/release";
import { consume } from "@fitkit/core/staging/consume";
import exifr from "exifr";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { CountingObjectStore } from "../support/counting.js";
import { PHONE_METADATA, phoneJpeg } from "../support/media.js";
import { newUpload, sha256Base64, uniqueId } from "./support/fixtures.js";
import { imageCodecs } from "./support/image-codecs.js";
import { RedisBackends } from "./support/staging-adapters.js";

const MEDIA = "media";
const COMPLIANCE = "compliance";
const PUBLIC = "public";
const BASE_URL = "https://media.example.test/";
const QUOTA = 1e9;

let s3: EmbeddedS3;
let objects: S3ObjectStore;
let publicObjects: CountingObjectStore;
const backends = new RedisBackends();
let store: RedisStore;
// Nothing caches in front here (as the local stack): test/takedown.test.ts covers the purge.
let deps: PublishDeps & UnpublishDeps;

beforeAll(async () => {
  await backends.start();
  store = backends.store("ioredis") as RedisStore;
  s3 = await startEmbeddedS3({ directory: await mkdtemp(join(tmpdir(), "fitkit-publish-")), buckets: [MEDIA, COMPLIANCE, PUBLIC] });
  objects = new S3ObjectStore(createS3Client({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }));
  publicObjects = new CountingObjectStore(objects);
  deps = {
    mediaBucket: MEDIA,
    media: objects,
    variants: store,
    published: store,
    public: { name: PUBLIC, baseUrl: BASE_URL, objects: publicObjects },
    edgeCache: NO_EDGE_CACHE,
    images: imageCodecs.codec,
  };
}, 30_000);
afterAll(async () => {
  await s3?.close();
  await backends.close();
});

/** Stages, stores and consumes `bytes` as an upload of `ownerType` in a fresh org, then processes it (unless `process` is false). */
async function linkedImage(ownerType: OwnerType, bytes: Buffer, options: { orgId?: string; process?: boolean } = {}) {
  const orgId = options.orgId ?? uniqueId("org");
  const userId = uniqueId("user");
  const contentType = "image/jpeg";
  const upload = newUpload({ orgId, userId, ownerType, contentType, size: bytes.length, bucket: MEDIA });
  upload.key = mediaKey({ orgId, ownerType, userId, uploadId: upload.uploadId, contentType });
  expect(await store.stage({ uploads: [upload], lifetimeSeconds: 600, quota: { orgId, defaultQuotaBytes: QUOTA } })).toMatchObject({ ok: true });
  await objects.put({ bucket: MEDIA, key: upload.key, body: bytes, contentType, checksumSha256: sha256Base64(bytes) });
  await consume(
    { store, objects, complianceBucket: COMPLIANCE },
    { uploadIds: [upload.uploadId], ownerType, owner: { orgId, userId }, idempotencyKey: uniqueId("k") },
  );
  if (options.process !== false) {
    expect(await processMedia({ objects, variants: store, images: imageCodecs }, { bucket: MEDIA, key: upload.key, contentType, orgId })).toBe("ready");
  }
  return { orgId, key: upload.key };
}

async function read(bucket: string, key: string): Promise<Buffer | null> {
  const stream = await objects.stream(bucket, key, 64 * 1024 * 1024);
  if (!stream) return null;
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const keyOf = (url: string): string => url.slice(BASE_URL.length);
const srcsetEntries = (srcset: string) =>
  srcset.split(", ").map((entry) => {
    const [url, width] = entry.split(" ") as [string, string];
    return { key: keyOf(url), width: Number(width.replace(/w$/, "")) };
  });

describe("publish", () => {
  it("writes metadata-free renditions at every ladder width the oriented image reaches, none wider, with the immutable header", async () => {
    // 1400×1000 with orientation 6: displayed 1000 wide × 1400 high.
    const photo = phoneJpeg(1400, 1000);
    expect(await exifr.gps(photo)).toMatchObject({ latitude: expect.closeTo(PHONE_METADATA.latitude, 3) });
    const { orgId, key } = await linkedImage("minisite_media", photo);

    const answer = await publish(deps, { orgId, key });

    const webp = srcsetEntries(answer.srcset);
    expect(webp.map((e) => e.width)).toEqual([320, 640, 960]);
    expect(RENDITION_WIDTHS.filter((w) => w <= 1000)).toEqual([320, 640, 960]);
    expect(answer).toEqual({
      url: `${BASE_URL}${webp.at(-1)!.key}`,
      srcset: expect.any(String),
      width: 960,
      height: Math.round((960 * 1400) / 1000),
      placeholder: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
      sources: answer.sources.length > 0 ? [{ type: "image/avif", srcset: expect.any(String) }] : [],
    });
    const avif = answer.sources.flatMap((s) => srcsetEntries(s.srcset));
    for (const { key: renditionKey, width } of [...webp, ...avif]) {
      expect(renditionKey).toMatch(new RegExp(`^o/${orgId}/[0-9a-f]{32}/${width}\\.(webp|avif)$`));
      const bytes = (await read(PUBLIC, renditionKey))!;
      const meta = await sharp(bytes).metadata();
      expect({ width: meta.width, height: meta.height }).toEqual({ width, height: Math.round((width * 1400) / 1000) });
      expect({ exif: meta.exif, xmp: meta.xmp, iptc: meta.iptc, icc: meta.icc, orientation: meta.orientation }).toEqual({
        exif: undefined,
        xmp: undefined,
        iptc: undefined,
        icc: undefined,
        orientation: undefined,
      });
      expect(await exifr.parse(bytes, { gps: true, exif: true, tiff: true, xmp: true, iptc: true }).catch(() => undefined)).toBeUndefined();
      expect(bytes.includes(Buffer.from(PHONE_METADATA.serialNumber))).toBe(false);
      const info = await objects.head(PUBLIC, renditionKey);
      expect(info).toMatchObject({
        size: bytes.length,
        contentType: renditionKey.endsWith(".avif") ? "image/avif" : "image/webp",
        servedHeaders: { cacheControl: IMMUTABLE_CACHE_CONTROL },
      });
      if (renditionKey.endsWith(".avif")) {
        const sameWidth = webp.find((w) => w.width === width)!;
        expect(bytes.length).toBeLessThan((await objects.head(PUBLIC, sameWidth.key))!.size);
      }
    }
  });

  it("an image narrower than the smallest width is published at its own width only", async () => {
    const { orgId, key } = await linkedImage("organization_logo", phoneJpeg(200, 120));

    const answer = await publish(deps, { orgId, key });

    expect(srcsetEntries(answer.srcset).map((e) => e.width)).toEqual([120]);
    expect({ width: answer.width, height: answer.height }).toEqual({ width: 120, height: 200 });
  });

  it("publishing the same key again answers the same URLs and writes nothing; published bytes count towards used once", async () => {
    const { orgId, key } = await linkedImage("organization_logo", phoneJpeg(800, 600));
    const before = await store.usage(orgId, QUOTA);
    const first = await publish(deps, { orgId, key });
    const [item] = await store.publishedItems(orgId);
    const publishedBytes = item!.renditions.reduce((sum, r) => sum + r.size, 0);
    publicObjects.puts = 0;
    publicObjects.heads = 0;

    const [second, third] = await Promise.all([publish(deps, { orgId, key }), publish(deps, { orgId, key })]);

    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect({ puts: publicObjects.puts, heads: publicObjects.heads }).toEqual({ puts: 0, heads: 0 });
    expect(await store.usage(orgId, QUOTA)).toEqual({ ...before, used: before.used + publishedBytes });
  });

  it("a progress photo cannot be published: FORBIDDEN, nothing written", async () => {
    const { orgId, key } = await linkedImage("progress_photo", phoneJpeg(400, 300));
    publicObjects.puts = 0;

    await expect(publish(deps, { orgId, key })).rejects.toMatchObject({ code: "FORBIDDEN", details: [{ key, ownerType: "progress_photo" }] });
    expect(publicObjects.puts).toBe(0);
  });

  it("another organisation's key cannot be published: FORBIDDEN", async () => {
    const { key } = await linkedImage("organization_logo", phoneJpeg(400, 300));

    await expect(publish(deps, { orgId: uniqueId("org"), key })).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("an image still processing is STILL_PROCESSING (409); a key never linked is NOT_FOUND", async () => {
    const { orgId, key } = await linkedImage("organization_logo", phoneJpeg(400, 300), { process: false });
    const never = mediaKey({ orgId, ownerType: "organization_logo", userId: "user_x", uploadId: "nope", contentType: "image/jpeg" });

    await expect(publish(deps, { orgId, key })).rejects.toMatchObject({ code: "STILL_PROCESSING", status: 409 });
    await expect(publish(deps, { orgId, key: never })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(await store.publishedItems(orgId)).toEqual([]);
  });
});

describe("unpublish and release", () => {
  it("unpublish deletes every rendition, gives the bytes back, and a second unpublish deletes nothing", async () => {
    const { orgId, key } = await linkedImage("minisite_media", phoneJpeg(800, 600));
    const before = await store.usage(orgId, QUOTA);
    await publish(deps, { orgId, key });
    const [item] = await store.publishedItems(orgId);

    const first = await unpublish(deps, { orgId, key });
    const second = await unpublish(deps, { orgId, key });

    expect(first).toEqual({ deleted: item!.renditions.length });
    expect(second).toEqual({ deleted: 0 });
    for (const rendition of item!.renditions) expect(await objects.head(PUBLIC, rendition.key)).toBeNull();
    expect(await store.usage(orgId, QUOTA)).toEqual(before);
    expect(await store.publishedItems(orgId)).toEqual([]);
  });

  it("releasing a published upload deletes its renditions too, and gives back all its bytes", async () => {
    const { orgId, key } = await linkedImage("organization_logo", phoneJpeg(800, 600));
    await publish(deps, { orgId, key });
    const [item] = await store.publishedItems(orgId);

    const released = await release(
      {
        links: store,
        objects,
        buckets: { media: MEDIA, compliance: COMPLIANCE },
        unpublishing: { published: store, public: deps.public, edgeCache: NO_EDGE_CACHE },
      },
      { orgId, keys: [key] },
    );

    expect(released.released).toBe(1);
    for (const rendition of item!.renditions) expect(await objects.head(PUBLIC, rendition.key)).toBeNull();
    expect(await store.publishedItems(orgId)).toEqual([]);
    expect(await store.usage(orgId, QUOTA)).toEqual({ used: 0, reserved: 0, quota: QUOTA });
  });

  it("a publish that races a release leaves no rendition behind", async () => {
    const { orgId, key } = await linkedImage("organization_logo", phoneJpeg(800, 600));
    const releaseDeps = {
      links: store,
      objects,
      buckets: { media: MEDIA, compliance: COMPLIANCE },
      unpublishing: { published: store, public: deps.public, edgeCache: NO_EDGE_CACHE },
    };

    const [published] = await Promise.allSettled([publish(deps, { orgId, key }), release(releaseDeps, { orgId, keys: [key] })]);
    // Whichever order they ran in, a release after the record unpublishes; a record after the release is refused.
    if (published.status === "fulfilled") await release(releaseDeps, { orgId, keys: [key] });

    const listed: string[] = [];
    for await (const page of objects.list(PUBLIC, `o/${orgId}/`)) listed.push(...page.map((o) => o.key));
    expect(listed).toEqual([]);
    expect(await store.publishedItems(orgId)).toEqual([]);
    expect(await store.usage(orgId, QUOTA)).toEqual({ used: 0, reserved: 0, quota: QUOTA });
  });
});
