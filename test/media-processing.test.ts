/**
 * Media processing on real parts: real photos (ImageMagick, exiftool, heif-enc), real consume on
 * real Redis (ioredis) and the SigV4-checking S3 server, the process-media use-case, and a real EXIF
 * reader (exifr) checking what a reader would get. Also the outbox: a queue failing between the
 * commit and the enqueue loses no job, and a job delivered twice counts nothing twice.
 */
import { execFileSync } from "node:child_process";
import { WasmHeifDecoder } from "@fitkit/core/adapters/libheif/wasm-heif-decoder";
import { InProcessJobQueue } from "@fitkit/core/adapters/memory/in-process-job-queue";
import { createIoredisClient } from "@fitkit/core/adapters/redis/ioredis-driver";
import { redisKeys } from "@fitkit/core/adapters/redis/redis-keys";
import type { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import type { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { SqsHttpClient } from "@fitkit/core/adapters/sqs/sqs-http-client";
import { SqsJobQueue } from "@fitkit/core/adapters/sqs/sqs-job-queue";
import type { HeifDecoder } from "@fitkit/core/media/image-codec";
import { DISPLAY_LONG_EDGE, renderVariants, THUMB_LONG_EDGE } from "@fitkit/core/media/image-pipeline";
import { stripJpegMetadata } from "@fitkit/core/media/jpeg-metadata";
import { redriveMediaJobs } from "@fitkit/core/media/media-handoff";
import { encodeMediaJob, isReadyVideo, type MediaJob } from "@fitkit/core/media/media-variants";
import { mediaJobSchema, processMedia } from "@fitkit/core/media/process-media";
import { mediaKey } from "@fitkit/core/policies/object-keys";
import { consume } from "@fitkit/core/staging/consume";
import exifr from "exifr";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedS3 } from "../local/embedded-s3.js";
import {
  cmykJpeg,
  commentedPng,
  displayP3Jpeg,
  exifWebp,
  heicGridBomb,
  PHONE_METADATA,
  phoneHeic,
  phoneJpeg,
  pngBomb,
  truncatedJpeg,
  undecodableHeic,
} from "../support/media.js";
import { newUpload, sha256Base64, uniqueId } from "./support/fixtures.js";
import { imageCodecs } from "./support/image-codecs.js";
import { type MediaBackends, startMediaBackends } from "./support/media-backends.js";
import { json, startScriptedServer } from "./support/scripted-server.js";
import type { RedisBackends } from "./support/staging-adapters.js";

const MEDIA = "media";
/** Every metadata block exifr reads (IHDR, JFIF: image structure, not metadata). */
const METADATA_BLOCKS = {
  tiff: true,
  exif: true,
  gps: true,
  interop: true,
  makerNote: true,
  userComment: true,
  xmp: true,
  iptc: true,
  icc: true,
  ihdr: false,
  jfif: false,
};
const COMPLIANCE = "compliance";
let parts: MediaBackends;

/** The tags exiftool (another reader than exifr) finds in `bytes` among `group`, beyond the file's own facts. */
function exiftoolTags(bytes: Buffer, group: string): Record<string, unknown> {
  const [tags] = JSON.parse(execFileSync("exiftool", ["-json", "-n", group, "-"], { input: bytes, encoding: "utf8" })) as Record<string, unknown>[];
  const { SourceFile: _, ...rest } = tags!;
  return rest;
}
let s3: EmbeddedS3;
let objects: S3ObjectStore;
let backends: RedisBackends;
let store: RedisStore;

beforeAll(async () => {
  parts = await startMediaBackends({ media: MEDIA, compliance: COMPLIANCE }, "fitkit-media-");
  ({ s3, objects, backends, store } = parts);
}, 30_000);
afterAll(() => parts?.close());

/** Stages `bytes` as a progress photo of a fresh org, stores them, and consumes them with `media` hand-off deps. */
async function linkPhoto(bytes: Buffer, contentType: string, media?: Parameters<typeof consume>[0]["media"]) {
  const orgId = uniqueId("org");
  const userId = uniqueId("user");
  const upload = newUpload({ orgId, userId, contentType, size: bytes.length, bucket: MEDIA });
  upload.key = mediaKey({ orgId, ownerType: "progress_photo", userId, uploadId: upload.uploadId, contentType });
  expect(await store.stage({ uploads: [upload], lifetimeSeconds: 600, quota: { orgId, defaultQuotaBytes: 1e9 } })).toMatchObject({ ok: true });
  await objects.put({ bucket: MEDIA, key: upload.key, body: bytes, contentType, checksumSha256: sha256Base64(bytes) });
  await consume(
    { store, objects, complianceBucket: COMPLIANCE, ...(media ? { media } : {}) },
    { uploadIds: [upload.uploadId], ownerType: "progress_photo", owner: { orgId, userId }, idempotencyKey: uniqueId("k") },
  );
  const job: MediaJob = { bucket: MEDIA, key: upload.key, contentType, orgId };
  return { orgId, job, upload };
}

async function readObject(key: string): Promise<Buffer> {
  const stream = await objects.stream(MEDIA, key, 64 * 1024 * 1024);
  if (!stream) throw new Error(`no object ${key}`);
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function readyState(key: string) {
  const [state] = await store.mediaStates([{ bucket: MEDIA, key }]);
  if (state?.status !== "ready" || isReadyVideo(state)) throw new Error(`not a ready image: ${JSON.stringify(state)}`);
  return state;
}

describe("a linked photo's variants", () => {
  it.each([
    ["a JPEG with GPS, serial number and orientation 6", () => phoneJpeg(640, 480), "image/jpeg", { width: 480, height: 640 }, "jpeg"],
    ["an HEVC HEIC with GPS", () => phoneHeic(640, 480), "image/heic", { width: 640, height: 480 }, "jpeg"],
    ["a PNG with a comment", () => commentedPng(200, 150), "image/png", { width: 200, height: 150 }, "png"],
    ["a WebP with EXIF", () => exifWebp(300, 200), "image/webp", { width: 300, height: 200 }, "webp"],
  ] as const)("%s: decode, carry no metadata, are oriented and within their bounds", async (_name, make, contentType, oriented, originalFormat) => {
    const source = make();
    // The fixture carries what a phone leaks (exifr does not read WebP: sharp exposes its EXIF block).
    if (contentType === "image/webp") expect((await sharp(source).metadata()).exif).toBeDefined();
    else expect(await exifr.parse(source, METADATA_BLOCKS)).toBeTruthy();
    const { job } = await linkPhoto(source, contentType);

    expect(await processMedia({ objects, variants: store, images: imageCodecs }, job)).toBe("ready");

    const state = await readyState(job.key);
    expect({ width: state.width, height: state.height }).toEqual(oriented);
    expect(state.placeholder).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const expectedFormats = { original: originalFormat, display: "webp", thumb: "webp" } as const;
    const bounds = { original: Math.max(oriented.width, oriented.height), display: DISPLAY_LONG_EDGE, thumb: THUMB_LONG_EDGE };
    for (const variant of ["original", "display", "thumb"] as const) {
      const bytes = await readObject(state.variants[variant].key);
      expect(state.variants[variant].size).toBe(bytes.length);
      const meta = await sharp(bytes).metadata();
      expect(meta.format).toBe(expectedFormats[variant]);
      expect({ xmp: meta.xmp, iptc: meta.iptc, icc: meta.icc, comments: meta.comments }).toEqual({
        xmp: undefined,
        iptc: undefined,
        icc: undefined,
        comments: undefined,
      });
      // A JPEG's full-size copy keeps its pixels as uploaded: an EXIF of the Orientation tag alone turns it upright.
      if (variant === "original" && contentType === "image/jpeg")
        expect(await exifr.parse(bytes, { ...METADATA_BLOCKS, translateValues: false })).toEqual({ Orientation: 6 });
      else {
        expect(meta.exif).toBeUndefined();
        if (meta.format !== "webp") expect(await exifr.parse(bytes, METADATA_BLOCKS)).toBeUndefined();
      }
      expect(exiftoolTags(bytes, "-GPS:all")).toEqual({});
      expect(bytes.includes(Buffer.from(PHONE_METADATA.serialNumber))).toBe(false);
      // Oriented: the aspect of the displayed image, long edge within the variant's bound, never upscaled.
      const shown = meta.autoOrient;
      expect(Math.max(shown.width, shown.height)).toBe(Math.min(bounds[variant], Math.max(oriented.width, oriented.height)));
      expect(Math.sign(shown.width - shown.height)).toBe(Math.sign(oriented.width - oriented.height));
      await sharp(bytes).raw().toBuffer();
    }
  });

  it("a 3000×2000 photo's display is 1600 px and its thumb 320 px on the long edge", async () => {
    const { job } = await linkPhoto(phoneJpeg(3000, 2000), "image/jpeg");
    await processMedia({ objects, variants: store, images: imageCodecs }, job);
    const state = await readyState(job.key);
    const sizes = await Promise.all((["display", "thumb"] as const).map(async (v) => sharp(await readObject(state.variants[v].key)).metadata()));
    expect(sizes.map((m) => [m.width, m.height])).toEqual([
      [1067, 1600],
      [213, 320],
    ]);
  });
});

describe("bad input ends as failed with a code, never a crash or a retry", () => {
  it.each([
    ["a PNG declaring 100 000 × 100 000 pixels", "IMAGE_TOO_LARGE", pngBomb, "image/png"],
    ["a truncated JPEG", "IMAGE_UNREADABLE", truncatedJpeg, "image/jpeg"],
    ["a HEIC libheif cannot decode", "IMAGE_UNREADABLE", undecodableHeic, "image/heic"],
  ] as const)("%s is failed with %s", async (_name, code, make, contentType) => {
    const { job, orgId } = await linkPhoto(make(), contentType);
    const before = await store.usage(orgId, 1e9);

    expect(await processMedia({ objects, variants: store, images: imageCodecs }, job)).toBe("failed");

    expect(await store.mediaStates([{ bucket: MEDIA, key: job.key }])).toEqual([{ status: "failed", code }]);
    expect(await store.usage(orgId, 1e9)).toEqual(before);
  });
});

describe("a HEIC decompression bomb is refused before anything decodes it", () => {
  /** The deployed codecs, with a count of the HEIF decoder's runs. */
  function countingCodecs() {
    const runs: number[] = [];
    const heif: HeifDecoder = {
      name: imageCodecs.heif.name,
      decodePrimary: (input, plan, quality) => {
        runs.push(plan.decodedPixels);
        return imageCodecs.heif.decodePrimary(input, plan, quality);
      },
    };
    return { codecs: { ...imageCodecs, heif }, runs };
  }

  it.each([
    ["whose first item is a 12×12 grid of 1024² tiles (151 MP) and whose primary is 64×64", () => heicGridBomb()],
    ["whose primary is that grid", () => heicGridBomb({ primary: "grid" })],
  ])("a 7 KB HEIC %s is failed with IMAGE_TOO_LARGE, the decoder never run", async (_name, make) => {
    const bomb = make();
    expect(bomb.length).toBeLessThan(8 * 1024);
    const { job, orgId } = await linkPhoto(bomb, "image/heic");
    const before = await store.usage(orgId, 1e9);
    const { codecs, runs } = countingCodecs();

    expect(await processMedia({ objects, variants: store, images: codecs }, job)).toBe("failed");

    expect(await store.mediaStates([{ bucket: MEDIA, key: job.key }])).toEqual([{ status: "failed", code: "IMAGE_TOO_LARGE" }]);
    expect(runs).toEqual([]);
    expect(await store.usage(orgId, 1e9)).toEqual(before);
  });

  it("an image from the decoder of another size than the primary checked is IMAGE_UNREADABLE, not processed", async () => {
    const heic = heicGridBomb({ rows: 2, columns: 2 });
    // As if the decoder had written the grid (2048×2048) where the 64×64 primary was asked.
    const wrong: HeifDecoder = { name: "wrong image", decodePrimary: async () => ({ jpeg: phoneJpeg(2048, 2048) }) };

    await expect(renderVariants({ codec: imageCodecs.codec, heif: wrong }, heic, "image/heic")).rejects.toMatchObject({
      name: "ImageRejectedError",
      code: "IMAGE_UNREADABLE",
    });
  });

  it("a HEIC whose first item is a small grid gets the variants of its primary image (64×64), not of the grid", async () => {
    const { job } = await linkPhoto(heicGridBomb({ rows: 2, columns: 2 }), "image/heic");
    const { codecs, runs } = countingCodecs();

    expect(await processMedia({ objects, variants: store, images: codecs }, job)).toBe("ready");

    const state = await readyState(job.key);
    expect({ width: state.width, height: state.height }).toEqual({ width: 64, height: 64 });
    // Both top-level images were counted before the decoder ran: the 2×2 grid of 1024² tiles and the primary.
    expect(runs).toEqual([4 * 1024 * 1024 + 64 * 64]);
    const original = await sharp(await readObject(state.variants.original.key)).metadata();
    expect([original.width, original.height]).toEqual([64, 64]);
  });
});

describe("the wasm fallback (no heif-convert installed)", () => {
  it("decodes a phone HEIC's primary image into the same three variants, the full-size copy re-encoded", async () => {
    const rendered = await renderVariants({ codec: imageCodecs.codec, heif: new WasmHeifDecoder() }, phoneHeic(640, 480), "image/heic");

    expect({ width: rendered.width, height: rendered.height, original: rendered.original }).toEqual({ width: 640, height: 480, original: "re-encoded" });
    const sizes = await Promise.all(rendered.variants.map(async (v) => [v.variant, v.contentType, (await sharp(v.bytes).metadata()).width]));
    expect(sizes).toEqual([
      ["original", "image/jpeg", 640],
      ["display", "image/webp", 640],
      ["thumb", "image/webp", 320],
    ]);
  });
});

describe("the full-size copy", () => {
  it("of an sRGB JPEG is its uploaded pixels, byte for byte, without the metadata segments", async () => {
    const source = phoneJpeg(800, 600);
    const { job } = await linkPhoto(source, "image/jpeg");
    await processMedia({ objects, variants: store, images: imageCodecs }, job);

    const original = await readObject((await readyState(job.key)).variants.original.key);
    // Same coded pixels: decoded as stored (no rotation), the two are the same pixels; only metadata bytes went.
    expect(await sharp(original).raw().toBuffer()).toEqual(await sharp(source).raw().toBuffer());
    expect(original.length).toBeLessThan(source.length);
    expect(exiftoolTags(original, "-EXIF:all")).toEqual({ Orientation: 6 });
  });

  it.each([
    ["a CMYK JPEG", () => cmykJpeg(400, 300)],
    ["a Display P3 JPEG", () => displayP3Jpeg(400, 300)],
  ])("of %s is re-encoded as sRGB with no profile", async (_name, make) => {
    const source = await make();
    const { job } = await linkPhoto(source, "image/jpeg");
    await processMedia({ objects, variants: store, images: imageCodecs }, job);

    const original = await readObject((await readyState(job.key)).variants.original.key);
    // Not the uploaded pixels with the profile cut out (which browsers would show in the wrong colours).
    expect(original.equals(stripJpegMetadata(source))).toBe(false);
    const meta = await sharp(original).metadata();
    expect({ format: meta.format, space: meta.space, channels: meta.channels, icc: meta.icc, width: meta.width }).toEqual({
      format: "jpeg",
      space: "srgb",
      channels: 3,
      icc: undefined,
      width: 400,
    });
  });

  it.each([
    ["JPEG", () => phoneJpeg(1200, 900), "image/jpeg"],
    ["HEIC", () => phoneHeic(1200, 900), "image/heic"],
    ["PNG", () => commentedPng(600, 400), "image/png"],
  ] as const)("every variant of a %s is the same bytes when rendered again", async (_name, make, contentType) => {
    const source = make();
    const [first, second] = [await renderVariants(imageCodecs, source, contentType), await renderVariants(imageCodecs, source, contentType)];
    expect(second).toEqual(first);
  });
});

describe("the outbox", () => {
  it("a queue failing between the commit and the enqueue fails nothing, and the next sweeper run's re-drive processes the job", async () => {
    // SQS answering 500 to every attempt.
    const sqs = await startScriptedServer(() => json(500, { __type: "com.amazonaws.sqs#InternalFailure", message: "SQS unavailable" }));
    const sender = new SqsHttpClient({ region: "eu-west-1", credentials: { accessKeyId: "a", secretAccessKey: "b" } });
    const failingQueue = new SqsJobQueue(sender, `${sqs.origin}/1/media`);
    const { job } = await linkPhoto(phoneJpeg(320, 240), "image/jpeg", { queue: failingQueue, outbox: store });
    await sqs.close();
    expect(sqs.requests.length).toBeGreaterThan(0);
    expect(await store.mediaStates([{ bucket: MEDIA, key: job.key }])).toEqual([{ status: "processing" }]);

    // The job waits in the outbox; time passes beyond the hand-off grace (its due time is moved, not slept through).
    const raw = createIoredisClient(backends.redis.url);
    expect(await raw.zscore(redisKeys.mediaOutbox(), encodeMediaJob(job))).not.toBeNull();
    await raw.zadd(redisKeys.mediaOutbox(), "XX", 0, encodeMediaJob(job));
    raw.disconnect();
    const delivered: MediaJob[] = [];
    const queue = new InProcessJobQueue({ maxReceives: 3 });
    queue.subscribe(async (records) => {
      for (const r of records) {
        const parsed = mediaJobSchema.parse(JSON.parse(r.body));
        delivered.push(parsed);
        await processMedia({ objects, variants: store, images: imageCodecs }, parsed);
      }
      return { failedMessageIds: [] };
    });
    await redriveMediaJobs({ queue, outbox: store });
    await queue.drained();

    expect(delivered).toContainEqual(job);
    expect((await readyState(job.key)).status).toBe("ready");
    expect(await store.claimMediaJobs({ limit: 1000, leaseSeconds: 1 }).then((jobs) => jobs.some((j) => j.key === job.key))).toBe(false);
  });

  it("a job delivered twice writes the same variants and counts their bytes once", async () => {
    const { job, orgId, upload } = await linkPhoto(phoneJpeg(400, 300), "image/jpeg");
    expect(await processMedia({ objects, variants: store, images: imageCodecs }, job)).toBe("ready");
    const first = await readyState(job.key);
    const firstBytes = await Promise.all(Object.values(first.variants).map((v) => readObject(v.key)));
    const usedAfterFirst = (await store.usage(orgId, 1e9)).used;

    expect(await processMedia({ objects, variants: store, images: imageCodecs }, job)).toBe("already-recorded");

    const second = await readyState(job.key);
    expect(second).toEqual(first);
    expect(await Promise.all(Object.values(second.variants).map((v) => readObject(v.key)))).toEqual(firstBytes);
    const variantBytes = Object.values(first.variants).reduce((sum, v) => sum + v.size, 0);
    expect((await store.usage(orgId, 1e9)).used).toBe(usedAfterFirst);
    expect(usedAfterFirst).toBe(upload.size + variantBytes);
  });
});

describe("the backfill of images linked before processing existed", () => {
  /** `npm run reconcile -- --media-backfill --org <orgId>` against this file's Redis and S3 server. */
  async function runBackfill(orgId: string): Promise<unknown> {
    const { execFile } = await import("node:child_process");
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ["--import", "tsx", "local/reconcile.ts", "--media-backfill", "--org", orgId],
        {
          env: {
            ...process.env,
            REDIS_URL: backends.redis.url,
            R2_ENDPOINT: s3.endpoint,
            R2_ACCESS_KEY_ID: s3.accessKeyId,
            R2_SECRET_ACCESS_KEY: s3.secretAccessKey,
            R2_BUCKET_NAME: MEDIA,
            R2_COMPLIANCE_BUCKET_NAME: COMPLIANCE,
          },
        },
        (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)),
      ),
    );
    return JSON.parse(output);
  }

  it("npm run reconcile -- --media-backfill schedules a job for each linked image with no outcome, once, and the re-drive processes it", async () => {
    // An image linked with no job (its outbox entry gone, as before processing existed) and a processed one, in one org.
    const legacy = await linkPhoto(phoneJpeg(320, 240), "image/jpeg");
    await store.ackMediaJobs([legacy.job]);
    const orgId = legacy.orgId;
    const userId = uniqueId("user");
    const processedBytes = phoneJpeg(200, 150);
    const processed = newUpload({ orgId, userId, contentType: "image/jpeg", size: processedBytes.length, bucket: MEDIA });
    processed.key = mediaKey({ orgId, ownerType: "progress_photo", userId, uploadId: processed.uploadId, contentType: "image/jpeg" });
    await store.stage({ uploads: [processed], lifetimeSeconds: 600, quota: { orgId, defaultQuotaBytes: 1e9 } });
    await objects.put({
      bucket: MEDIA,
      key: processed.key,
      body: processedBytes,
      contentType: "image/jpeg",
      checksumSha256: sha256Base64(processedBytes),
    });
    await consume(
      { store, objects, complianceBucket: COMPLIANCE },
      { uploadIds: [processed.uploadId], ownerType: "progress_photo", owner: { orgId, userId }, idempotencyKey: uniqueId("k") },
    );
    const processedJob: MediaJob = { bucket: MEDIA, key: processed.key, contentType: "image/jpeg", orgId };
    await store.ackMediaJobs([processedJob]);
    expect(await processMedia({ objects, variants: store, images: imageCodecs }, processedJob)).toBe("ready");
    // Nothing of this org waits in the outbox: the legacy image would stay processing forever.
    expect(await store.claimMediaJobs({ limit: 10_000, leaseSeconds: 1 }).then((jobs) => jobs.filter((j) => j.orgId === orgId))).toEqual([]);

    const first = await runBackfill(orgId);
    const second = await runBackfill(orgId);

    expect(first).toEqual({ images: 2, scheduled: 1 });
    expect(second).toEqual({ images: 2, scheduled: 0 });
    const delivered: MediaJob[] = [];
    const queue = new InProcessJobQueue({ maxReceives: 3 });
    queue.subscribe(async (records) => {
      for (const r of records) {
        const parsed = mediaJobSchema.parse(JSON.parse(r.body));
        delivered.push(parsed);
        await processMedia({ objects, variants: store, images: imageCodecs }, parsed);
      }
      return { failedMessageIds: [] };
    });
    await redriveMediaJobs({ queue, outbox: store });
    await queue.drained();
    expect(delivered.filter((j) => j.orgId === orgId)).toEqual([legacy.job]);
    expect((await readyState(legacy.job.key)).status).toBe("ready");
    expect(await runBackfill(orgId)).toEqual({ images: 2, scheduled: 0 });
  }, 60_000);
});
