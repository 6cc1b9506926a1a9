/**
 * Video posters on real parts: real videos encoded by the packaged ffmpeg, real consume on real
 * Redis (ioredis) and the SigV4-checking S3 server, the process-media use-case running the same
 * ffmpeg binary, and a real EXIF reader (exifr) checking what a reader would get; then the whole
 * path through the local stack (`npm start`) and `POST /uploads/signed-urls` with `variant: "poster"`.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createIoredisClient } from "@fitkit/core/adapters/redis/ioredis-driver";
import { redisKeys } from "@fitkit/core/adapters/redis/redis-keys";
import type { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import type { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { POSTER_LONG_EDGE } from "@fitkit/core/media/image-pipeline";
import { encodeMediaJob, isReadyVideo, type MediaJob, type ReadyVideo } from "@fitkit/core/media/media-variants";
import { processMedia } from "@fitkit/core/media/process-media";
import { parseVideoFacts, posterTimeSeconds, renderVideoPoster, runFfmpeg } from "@fitkit/core/media/video-pipeline";
import { mediaKey, VARIANTS_PREFIX } from "@fitkit/core/policies/object-keys";
import { consume } from "@fitkit/core/staging/consume";
import exifr from "exifr";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { isoBmffBytes, mp4Bytes } from "../support/media.js";
import { packagedFfmpeg, testVideo } from "../support/video.js";
import { newUpload, sleep, uniqueId } from "./support/fixtures.js";
import { putPresigned } from "./support/http.js";
import { imageCodecs } from "./support/image-codecs.js";
import { type MediaBackends, startMediaBackends } from "./support/media-backends.js";
import { documentedInternal, documentedPostJson as postJson } from "./support/openapi.js";
import type { RedisBackends } from "./support/staging-adapters.js";

const MEDIA = "media";
const COMPLIANCE = "compliance";
/** Every metadata block exifr reads (JFIF: image structure, not metadata). */
const METADATA_BLOCKS = { tiff: true, exif: true, gps: true, interop: true, makerNote: true, userComment: true, xmp: true, iptc: true, icc: true, jfif: false };

let landscape: Buffer;
let portrait: Buffer;
let webm: Buffer;
let blink: Buffer;

beforeAll(async () => {
  [landscape, portrait, webm, blink] = await Promise.all([
    testVideo({ width: 1920, height: 1080, seconds: 3 }),
    testVideo({ width: 1280, height: 720, seconds: 2, rotate: 90 }),
    testVideo({ width: 640, height: 360, seconds: 2, format: "webm" }),
    // Five frames: shorter than the 1 s the poster is usually taken at.
    testVideo({ width: 320, height: 240, seconds: 0.2 }),
  ]);
}, 60_000);

describe("the facts ffmpeg prints", () => {
  it("reads the first video stream's size and the container's duration, and not the codec tag's hex", () => {
    const log = [
      "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'source':",
      "  Duration: 00:01:02.50, start: 0.000000, bitrate: 527 kb/s",
      "    Stream #0:0(und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 128 kb/s (default)",
      "    Stream #0:1(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 1920x1080 [SAR 1:1 DAR 16:9], 524 kb/s, 30 fps",
    ].join("\n");
    expect(parseVideoFacts(log)).toEqual({ codedWidth: 1920, codedHeight: 1080, durationMs: 62_500 });
    expect(parseVideoFacts(log.replace("00:01:02.50", "N/A"))).toEqual({ codedWidth: 1920, codedHeight: 1080, durationMs: null });
    expect(parseVideoFacts("source: Invalid data found when processing input")).toBeNull();
  });

  it("takes the poster at 1 s, halfway through a clip under 2 s, and at 1 s when the duration is unknown", () => {
    expect([posterTimeSeconds(3000), posterTimeSeconds(2000), posterTimeSeconds(200), posterTimeSeconds(null)]).toEqual([1, 1, 0.1, 1]);
  });
});

describe("ffmpeg is held short", () => {
  const ffmpeg = packagedFfmpeg();

  it("a run is killed once its time is up", async () => {
    const started = performance.now();
    const run = await runFfmpeg(ffmpeg, ["-f", "lavfi", "-i", "testsrc=size=1920x1080:duration=600", "-f", "null", "-"], { timeoutMs: 300, maxStdoutBytes: 0 });
    expect({ timedOut: run.timedOut, exitCode: run.exitCode }).toEqual({ timedOut: true, exitCode: null });
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("a run is killed once its output passes the cap, and keeps no more than the cap", async () => {
    const run = await runFfmpeg(ffmpeg, ["-f", "lavfi", "-i", "testsrc=size=640x480:duration=600", "-f", "rawvideo", "pipe:1"], {
      timeoutMs: 20_000,
      maxStdoutBytes: 1024 * 1024,
    });
    expect({ overflowed: run.overflowed, timedOut: run.timedOut, exitCode: run.exitCode }).toEqual({ overflowed: true, timedOut: false, exitCode: null });
    expect(run.stdout.length).toBeLessThanOrEqual(1024 * 1024);
  });

  it("a concat list posing as an MP4 is not followed: the demuxer comes from the type, never from the content", async () => {
    const directory = await mkdtemp(join(tmpdir(), "fitkit-concat-"));
    const target = join(directory, "other.mp4");
    await writeFile(target, landscape);
    const list = join(directory, "upload");
    await writeFile(list, `ffconcat version 1.0\nfile '${target}'\n`);
    // Left to guess, ffmpeg reads the list and decodes the other file: what forcing the demuxer prevents.
    const guessed = await runFfmpeg(ffmpeg, ["-hide_banner", "-safe", "0", "-i", list], { timeoutMs: 20_000, maxStdoutBytes: 0 });
    expect(parseVideoFacts(guessed.stderr)).toMatchObject({ codedWidth: 1920, codedHeight: 1080 });

    await expect(renderVideoPoster(ffmpeg, list, "video/mp4", imageCodecs.codec)).rejects.toMatchObject({
      name: "VideoRejectedError",
      code: "VIDEO_UNREADABLE",
    });
  });
});

describe("a linked video's poster and facts, on real Redis and S3", () => {
  let parts: MediaBackends;
  let objects: S3ObjectStore;
  let backends: RedisBackends;
  let store: RedisStore;
  const ffmpegPath = packagedFfmpeg();

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
    await objects.put({ bucket: MEDIA, key: upload.key, body: bytes, contentType, checksumSha256: createHash("sha256").update(bytes).digest("base64") });
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
    ["a 3 s 1920×1080 H.264 MP4", () => landscape, "video/mp4", { width: 1920, height: 1080, durationMs: 3000 }, { width: 1280, height: 720 }],
    [
      "a 1280×720 MP4 a player turns a quarter (portrait)",
      () => portrait,
      "video/mp4",
      { width: 720, height: 1280, durationMs: 2000 },
      { width: 720, height: 1280 },
    ],
    ["a 2 s 640×360 VP8 WebM", () => webm, "video/webm", { width: 640, height: 360, durationMs: 2000 }, { width: 640, height: 360 }],
    ["a 0.2 s 320×240 clip", () => blink, "video/mp4", { width: 320, height: 240, durationMs: 200 }, { width: 320, height: 240 }],
  ] as const)("%s: a JPEG poster within 1280 px carrying no metadata, and its facts", async (_name, make, contentType, facts, posterSize) => {
    const { job, orgId } = await linkVideo(make(), contentType);
    const usedBefore = (await store.usage(orgId, 1e9)).used;

    expect(await processMedia({ objects, variants: store, images: imageCodecs, ffmpegPath }, job)).toBe("ready");

    const state = await readyVideo(job.key);
    expect({ width: state.width, height: state.height, durationMs: state.durationMs }).toEqual(facts);
    expect(state.placeholder).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(state.variants.poster.key).toBe(`${VARIANTS_PREFIX}${job.key.replace(/\.\w+$/, "")}/poster.jpg`);
    const poster = await readObject(state.variants.poster.key);
    expect(state.variants.poster).toEqual({ key: state.variants.poster.key, contentType: "image/jpeg", size: poster.length });
    const meta = await sharp(poster).metadata();
    expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual({ format: "jpeg", ...posterSize });
    expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(POSTER_LONG_EDGE);
    expect({ exif: meta.exif, xmp: meta.xmp, iptc: meta.iptc, icc: meta.icc, comments: meta.comments }).toEqual({
      exif: undefined,
      xmp: undefined,
      iptc: undefined,
      icc: undefined,
      comments: undefined,
    });
    expect(await exifr.parse(poster, METADATA_BLOCKS)).toBeUndefined();
    // A real picture of the test pattern, not a blank frame.
    const { channels } = await sharp(poster).stats();
    expect(Math.max(...channels.map((c) => c.stdev))).toBeGreaterThan(20);
    // The poster's bytes join the org's used, as an image's variants do.
    expect((await store.usage(orgId, 1e9)).used).toBe(usedBefore + poster.length);
  });

  it("a video delivered twice writes the same poster and counts its bytes once", async () => {
    const { job, orgId } = await linkVideo(landscape);
    expect(await processMedia({ objects, variants: store, images: imageCodecs, ffmpegPath }, job)).toBe("ready");
    const first = await readyVideo(job.key);
    const firstPoster = await readObject(first.variants.poster.key);
    const used = (await store.usage(orgId, 1e9)).used;

    expect(await processMedia({ objects, variants: store, images: imageCodecs, ffmpegPath }, job)).toBe("already-recorded");

    expect(await readyVideo(job.key)).toEqual(first);
    expect(await readObject(first.variants.poster.key)).toEqual(firstPoster);
    expect((await store.usage(orgId, 1e9)).used).toBe(used);
  });

  it.each([
    ["random bytes behind an MP4 header", () => Buffer.concat([isoBmffBytes("isom", ["isom", "mp41"]), randomBytes(64 * 1024)])],
    ["the 8-byte-box stand-in the other tests link", () => mp4Bytes()],
    // The encoder writes moov last, as cameras do: the first 60 % has no index to read.
    ["a truncated MP4", () => landscape.subarray(0, Math.floor(landscape.length * 0.6))],
  ])("%s ends failed with VIDEO_UNREADABLE: nothing written or counted, and no retry", async (_name, make) => {
    const { job, orgId } = await linkVideo(make());
    const before = await store.usage(orgId, 1e9);

    expect(await processMedia({ objects, variants: store, images: imageCodecs, ffmpegPath }, job)).toBe("failed");
    expect(await processMedia({ objects, variants: store, images: imageCodecs, ffmpegPath }, job)).toBe("already-recorded");

    expect(await store.mediaStates([{ bucket: MEDIA, key: job.key }])).toEqual([{ status: "failed", code: "VIDEO_UNREADABLE" }]);
    expect(await store.usage(orgId, 1e9)).toEqual(before);
    const [linked] = await store.linkedObjects([{ bucket: MEDIA, key: job.key }]);
    expect(linked?.variantKeys).toBeUndefined();
  });

  it("a video released before it is processed leaves no poster behind", async () => {
    const { job, orgId } = await linkVideo(landscape);
    await store.unlinkObjects(orgId, [{ bucket: MEDIA, key: job.key }]);

    expect(await processMedia({ objects, variants: store, images: imageCodecs, ffmpegPath }, job)).toBe("not-linked");

    const listed: string[] = [];
    for await (const page of objects.list(MEDIA, `${VARIANTS_PREFIX}${orgId}/`)) listed.push(...page.map((o) => o.key));
    expect(listed).toEqual([]);
  });
});

describe("through the local stack: a linked video's poster over signed-urls", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack();
  }, 90_000);
  afterAll(() => stack?.close());

  async function linkVideo(bytes: Buffer) {
    const userId = uniqueId("user");
    const orgId = uniqueId("org");
    const token = await stack.token({ userId, orgId, role: "member" });
    const presigned = await postJson(
      `${stack.api}/uploads`,
      { ownerType: "exercise_comment", files: [{ contentType: "video/mp4", size: bytes.length }] },
      token,
    );
    expect(presigned.status).toBe(201);
    const upload = presigned.body.uploads[0];
    expect((await putPresigned(upload, bytes)).status).toBe(200);
    const consumed = await documentedInternal(stack, "consume", {
      uploadIds: [upload.uploadId],
      ownerType: "exercise_comment",
      owner: { orgId, userId },
      idempotencyKey: "k",
    });
    expect(consumed.status).toBe(200);
    return { token, key: upload.key as string };
  }

  /** Asks for the poster until processing has recorded an outcome (the demo polls the same way). */
  async function settledPoster(token: string, key: string) {
    for (let attempt = 0; attempt < 240; attempt++) {
      const signed = await postJson(`${stack.api}/uploads/signed-urls`, { keys: [key], variant: "poster", expiresIn: 900 }, token);
      expect(signed.status).toBe(200);
      if (signed.body.urls[0].status !== "processing") return signed.body.urls[0];
      await sleep(250);
    }
    throw new Error("the poster stayed processing");
  }

  it("presign → PUT → consume → poster: a 1280×720 JPEG with the video's facts, and the video itself still served as uploaded", async () => {
    const { token, key } = await linkVideo(landscape);

    const poster = await settledPoster(token, key);
    expect(poster).toEqual({
      key,
      status: "ready",
      url: expect.stringContaining(`/${stack.buckets.media}/${VARIANTS_PREFIX}`),
      expiresAt: expect.any(String),
      width: 1920,
      height: 1080,
      durationMs: 3000,
      placeholder: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
    });
    const posterResponse = await fetch(poster.url);
    expect(posterResponse.status).toBe(200);
    expect(posterResponse.headers.get("content-type")).toBe("image/jpeg");
    const posterBytes = Buffer.from(await posterResponse.arrayBuffer());
    const meta = await sharp(posterBytes).metadata();
    expect({ format: meta.format, width: meta.width, height: meta.height, exif: meta.exif }).toEqual({
      format: "jpeg",
      width: 1280,
      height: 720,
      exif: undefined,
    });

    const original = await postJson(`${stack.api}/uploads/signed-urls`, { keys: [key], expiresIn: 900 }, token);
    expect(original.body.urls[0]).toEqual({ ...poster, url: expect.not.stringContaining(VARIANTS_PREFIX), expiresAt: expect.any(String) });
    const video = await fetch(original.body.urls[0].url);
    expect(video.headers.get("content-type")).toBe("video/mp4");
    expect(Buffer.from(await video.arrayBuffer()).equals(landscape)).toBe(true);
  });

  it("a video ffmpeg cannot read: the poster is failed with VIDEO_UNREADABLE, the video's own URL still works", async () => {
    const bytes = mp4Bytes();
    const { token, key } = await linkVideo(bytes);

    expect(await settledPoster(token, key)).toEqual({ key, status: "failed", code: "VIDEO_UNREADABLE" });

    const original = await postJson(`${stack.api}/uploads/signed-urls`, { keys: [key], expiresIn: 900 }, token);
    expect(original.body.urls[0]).toEqual({ key, status: "ready", url: expect.any(String), expiresAt: expect.any(String) });
    expect(Buffer.from(await (await fetch(original.body.urls[0].url)).arrayBuffer()).equals(bytes)).toBe(true);
  });
});
