/**
 * Video processing on real parts: real videos made by Debian's ffmpeg (and exiftool for a phone's
 * metadata), real consume on real Redis (ioredis) and the SigV4-checking S3 server, the
 * process-media use-case running the ffmpeg codec (the local stack and Chromium:
 * test/browser/video-playback.test.ts).
 */
import { randomBytes } from "node:crypto";
import { FfmpegVideoCodec } from "@fitkit/core/adapters/ffmpeg/ffmpeg-video-codec";
import { createIoredisClient } from "@fitkit/core/adapters/redis/ioredis-driver";
import { redisKeys } from "@fitkit/core/adapters/redis/redis-keys";
import type { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import type { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { POSTER_LONG_EDGE } from "@fitkit/core/media/image-pipeline";
import { encodeMediaJob, isReadyVideo, type MediaJob, type ReadyVideo } from "@fitkit/core/media/media-variants";
import { processMedia } from "@fitkit/core/media/process-media";
import { mediaKey, VARIANTS_PREFIX } from "@fitkit/core/policies/object-keys";
import { consume } from "@fitkit/core/staging/consume";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeVideoTools, findOnPath } from "../functions/lib/deps/ffmpeg.js";
import { isoBmffBytes, mp4Bytes } from "../support/media.js";
import { oversizedVideo, testVideo, topLevelBoxes } from "../support/video.js";
import { newUpload, sha256Base64, uniqueId } from "./support/fixtures.js";
import { imageCodecs } from "./support/image-codecs.js";
import { type MediaBackends, startMediaBackends } from "./support/media-backends.js";
import type { RedisBackends } from "./support/staging-adapters.js";

const MEDIA = "media";
const COMPLIANCE = "compliance";
const videoCodec = new FfmpegVideoCodec({ ffmpegPath: findOnPath("ffmpeg")!, ffprobePath: findOnPath("ffprobe")!, prlimitPath: findOnPath("prlimit")! });

let landscape: Buffer;
let portrait: Buffer;
let phone: Buffer;

beforeAll(async () => {
  [landscape, portrait, phone] = await Promise.all([
    testVideo({ width: 640, height: 360, seconds: 2 }),
    testVideo({ width: 640, height: 360, seconds: 2, rotate: 90 }),
    // What a coach's phone sends: HEVC in QuickTime, with sound, where and on what it was recorded.
    testVideo({ width: 1920, height: 1080, seconds: 2, format: "mov", codec: "hevc", audio: true, phoneMetadata: true, frameRate: 30 }),
  ]);
}, 120_000);

describe("npm start says what it runs videos with", () => {
  it("the tools on PATH when present; otherwise, plainly, that videos stay processing", () => {
    expect(describeVideoTools({ ffmpeg: "/usr/bin/ffmpeg", ffprobe: "/usr/bin/ffprobe", prlimit: "/usr/bin/prlimit" })).toBe(
      "videos: /usr/bin/ffmpeg and /usr/bin/ffprobe from PATH, memory, file size and CPU bounded by /usr/bin/prlimit",
    );
    expect(describeVideoTools({ ffmpeg: null, ffprobe: null, prlimit: "/usr/bin/prlimit" })).toBe(
      'videos: ffmpeg and ffprobe not found on PATH — video uploads are stored and linked but never processed (signed-urls answers "processing" for them); install Debian\'s ffmpeg (apt install ffmpeg) and restart',
    );
    expect(describeVideoTools({ ffmpeg: "/usr/bin/ffmpeg", ffprobe: "/usr/bin/ffprobe", prlimit: null })).toMatch(/no memory bound$/);
  });
});

describe("a linked video's copies and facts, on real Redis and S3", () => {
  let parts: MediaBackends;
  let objects: S3ObjectStore;
  let backends: RedisBackends;
  let store: RedisStore;

  beforeAll(async () => {
    parts = await startMediaBackends({ media: MEDIA, compliance: COMPLIANCE }, "fitkit-video-");
    ({ objects, backends, store } = parts);
  }, 30_000);
  afterAll(() => parts?.close());

  /** Stages `bytes` as an exercise comment of a fresh org, stores and consumes them (the job stays in the outbox). */
  async function linkVideo(bytes: Buffer, contentType = "video/mp4") {
    const orgId = uniqueId("org");
    const userId = uniqueId("user");
    const upload = newUpload({ orgId, userId, ownerType: "exercise_comment", contentType, size: bytes.length, bucket: MEDIA });
    upload.key = mediaKey({ orgId, ownerType: "exercise_comment", userId, uploadId: upload.uploadId, contentType });
    expect(await store.stage({ uploads: [upload], lifetimeSeconds: 600, quota: { orgId, defaultQuotaBytes: 1e9 } })).toMatchObject({ ok: true });
    await objects.put({ bucket: MEDIA, key: upload.key, body: bytes, contentType, checksumSha256: sha256Base64(bytes) });
    await consume(
      { store, objects, complianceBucket: COMPLIANCE },
      { uploadIds: [upload.uploadId], ownerType: "exercise_comment", owner: { orgId, userId }, idempotencyKey: uniqueId("k") },
    );
    const job: MediaJob = { bucket: MEDIA, key: upload.key, contentType, orgId };
    return { orgId, job };
  }

  async function readObject(key: string): Promise<Buffer> {
    const stream = await objects.stream(MEDIA, key, 64 * 1024 * 1024);
    if (!stream) throw new Error(`no object ${key}`);
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async function readyVideo(key: string): Promise<ReadyVideo> {
    const [state] = await store.mediaStates([{ bucket: MEDIA, key }]);
    if (state?.status !== "ready" || !isReadyVideo(state)) throw new Error(`not a ready video: ${JSON.stringify(state)}`);
    return state;
  }

  it("linking a video puts it in the outbox like an image: processing until the worker records it", async () => {
    const { job } = await linkVideo(landscape);
    expect(await store.mediaStates([{ bucket: MEDIA, key: job.key }])).toEqual([{ status: "processing" }]);
    const raw = createIoredisClient(backends.redis.url);
    expect(await raw.zscore(redisKeys.mediaOutbox(), encodeMediaJob(job))).not.toBeNull();
    raw.disconnect();
  });

  it.each([
    ["a 640×360 H.264 MP4", () => landscape, "video/mp4", { width: 640, height: 360 }, "mp4"],
    ["a 640×360 MP4 a player turns a quarter (portrait)", () => portrait, "video/mp4", { width: 360, height: 640 }, "mp4"],
    ["a phone's 1920×1080 HEVC .mov", () => phone, "video/quicktime", { width: 1920, height: 1080 }, "mov"],
  ] as const)(
    "%s: a playback MP4, a metadata-free original and a JPEG poster, all counted in used",
    async (_name, make, contentType, size, extension) => {
      const { job, orgId } = await linkVideo(make(), contentType);
      const usedBefore = (await store.usage(orgId, 1e9)).used;

      expect(await processMedia({ objects, variants: store, images: imageCodecs, videoCodec }, job)).toBe("ready");

      const state = await readyVideo(job.key);
      expect({ width: state.width, height: state.height, durationMs: state.durationMs }).toEqual({ ...size, durationMs: 2000 });
      const prefix = `${VARIANTS_PREFIX}${job.key.replace(/\.\w+$/, "")}`;
      expect(Object.fromEntries(Object.entries(state.variants).map(([name, v]) => [name, [v.key, v.contentType]]))).toEqual({
        original: [`${prefix}/original.${extension}`, contentType],
        playback: [`${prefix}/playback.mp4`, "video/mp4"],
        poster: [`${prefix}/poster.jpg`, "image/jpeg"],
      });
      const stored = await Promise.all([state.variants.original, state.variants.playback, state.variants.poster].map((v) => readObject(v.key)));
      expect(stored.map((b) => b.length)).toEqual([state.variants.original.size, state.variants.playback.size, state.variants.poster.size]);
      const meta = await sharp(stored[2]).metadata();
      expect({ format: meta.format, exif: meta.exif, long: Math.max(meta.width!, meta.height!) <= POSTER_LONG_EDGE }).toEqual({
        format: "jpeg",
        exif: undefined,
        long: true,
      });
      expect(topLevelBoxes(stored[1]!).slice(0, 2)).toEqual(["ftyp", "moov"]);
      // Every copy's bytes join the org's used, as an image's variants do.
      expect((await store.usage(orgId, 1e9)).used).toBe(usedBefore + stored.reduce((sum, b) => sum + b.length, 0));
    },
    90_000,
  );

  it("a video delivered twice writes the same copies and counts their bytes once", async () => {
    const { job, orgId } = await linkVideo(landscape);
    expect(await processMedia({ objects, variants: store, images: imageCodecs, videoCodec }, job)).toBe("ready");
    const first = await readyVideo(job.key);
    const used = (await store.usage(orgId, 1e9)).used;

    expect(await processMedia({ objects, variants: store, images: imageCodecs, videoCodec }, job)).toBe("already-recorded");

    expect(await readyVideo(job.key)).toEqual(first);
    expect((await store.usage(orgId, 1e9)).used).toBe(used);
  }, 60_000);

  it.each([
    ["random bytes behind an MP4 header", "VIDEO_UNREADABLE", () => Buffer.concat([isoBmffBytes("isom", ["isom", "mp41"]), randomBytes(64 * 1024)])],
    ["the 8-byte-box stand-in the other tests link", "VIDEO_UNREADABLE", () => mp4Bytes()],
    // The encoder writes moov last, as cameras do: the first 60 % has no index to read.
    ["a truncated MP4", "VIDEO_UNREADABLE", () => landscape.subarray(0, Math.floor(landscape.length * 0.6))],
  ] as const)("%s ends failed with %s: nothing written or counted, and no retry", async (_name, code, make) => {
    const { job, orgId } = await linkVideo(make());
    const before = await store.usage(orgId, 1e9);

    expect(await processMedia({ objects, variants: store, images: imageCodecs, videoCodec }, job)).toBe("failed");
    expect(await processMedia({ objects, variants: store, images: imageCodecs, videoCodec }, job)).toBe("already-recorded");

    expect(await store.mediaStates([{ bucket: MEDIA, key: job.key }])).toEqual([{ status: "failed", code }]);
    expect(await store.usage(orgId, 1e9)).toEqual(before);
    const [linked] = await store.linkedObjects([{ bucket: MEDIA, key: job.key }]);
    expect(linked?.variantKeys).toBeUndefined();
  });

  it("over the owner type's bounds: 8000×6000 pixels, or 301 s, is VIDEO_TOO_LARGE and never retried", async () => {
    const long = await testVideo({ width: 16, height: 16, seconds: 301, frameRate: 1 });
    for (const bytes of [await oversizedVideo(), long]) {
      const { job } = await linkVideo(bytes);
      expect(await processMedia({ objects, variants: store, images: imageCodecs, videoCodec }, job)).toBe("failed");
      expect(await processMedia({ objects, variants: store, images: imageCodecs, videoCodec }, job)).toBe("already-recorded");
      expect(await store.mediaStates([{ bucket: MEDIA, key: job.key }])).toEqual([{ status: "failed", code: "VIDEO_TOO_LARGE" }]);
    }
  }, 60_000);

  it("a transcode that outruns its time bound ends failed (VIDEO_UNREADABLE), not in the queue's retries", async () => {
    const { job } = await linkVideo(landscape);

    const result = await processMedia(
      { objects, variants: store, images: imageCodecs, videoCodec, videoTimeBounds: { baseMs: 30, transcodeMsPerSecond: 0, copyMs: 60_000 } },
      job,
    );

    expect(result).toBe("failed");
    expect(await store.mediaStates([{ bucket: MEDIA, key: job.key }])).toEqual([{ status: "failed", code: "VIDEO_UNREADABLE" }]);
  });

  it("a video released before it is processed leaves no copy behind", async () => {
    const { job, orgId } = await linkVideo(landscape);
    await store.unlinkObjects(orgId, [{ bucket: MEDIA, key: job.key }]);

    expect(await processMedia({ objects, variants: store, images: imageCodecs, videoCodec }, job)).toBe("not-linked");

    const listed: string[] = [];
    for await (const page of objects.list(MEDIA, `${VARIANTS_PREFIX}${orgId}/`)) listed.push(...page.map((o) => o.key));
    expect(listed).toEqual([]);
  });
});
