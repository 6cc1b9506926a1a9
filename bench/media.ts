/**
 * The media part of `npm run bench`: what processing costs (time and peak memory of a 12-MP JPEG
 * and HEIC, single-threaded, each in its own process), what it saves (bytes a coach downloads for
 * a gallery of 30 progress photos as thumbs versus originals, through real signed URLs), what
 * it adds to signed-get (the batched Redis read for images and videos, ioredis and Upstash), and
 * the time to make a 1080p video's poster (the packaged ffmpeg, as process-media runs it).
 *
 * Photos are made with real tools as the test fixtures are (support/media.ts): ImageMagick draws a
 * camera-like 12-MP picture (gradient + sensor-like noise, so it does not compress to nothing),
 * heif-enc (libheif, x265) encodes the HEIC; the gallery's 30 photos are that picture shifted in
 * hue, brightness and framing by sharp, each a distinct 3–6 MB JPEG.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NativeHeifDecoder } from "@fitkit/core/adapters/libheif/native-heif-decoder";
import { MemoryStore } from "@fitkit/core/adapters/memory/memory-store";
import type { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { SharpImageCodec } from "@fitkit/core/adapters/sharp/sharp-image-codec";
import type { Identity } from "@fitkit/core/auth/identity";
import { signedUrls } from "@fitkit/core/downloads/signed-urls";
import type { ImageCodecs } from "@fitkit/core/media/image-codec";
import type { MediaJob } from "@fitkit/core/media/media-variants";
import { processMedia } from "@fitkit/core/media/process-media";
import { renderVideoPoster } from "@fitkit/core/media/video-pipeline";
import { mediaKey } from "@fitkit/core/policies/object-keys";
import type { ObjectStore } from "@fitkit/core/storage/object-store";
import type { UrlSigner } from "@fitkit/core/storage/url-signer";
import sharp from "sharp";
import { packagedFfmpeg, testVideo } from "../support/video.js";

const here = dirname(fileURLToPath(import.meta.url));
/** As the deployed media worker has them: sharp, Debian's native heif-convert. */
const benchCodecs: ImageCodecs = { codec: new SharpImageCodec(), heif: new NativeHeifDecoder() };
const IMAGEMAGICK = "/usr/bin/convert";
const WIDTH = 4000;
const HEIGHT = 3000;
const GALLERY_PHOTOS = 30;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (value: number, digits = 2) => Number(value.toFixed(digits));
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("base64");

export interface MediaBenchDeps {
  quick: boolean;
  objects: ObjectStore;
  signer: UrlSigner;
  buckets: { media: string; compliance: string };
  /** The same Redis through both drivers. */
  stores: { ioredis: RedisStore; upstash: RedisStore };
}

/** A 12-MP camera-like JPEG (ImageMagick) and the same picture as an HEVC HEIC (heif-enc). */
function makeSourcePhotos(dir: string): { jpeg: string; heic: string } {
  const jpeg = join(dir, "camera.jpg");
  execFileSync(IMAGEMAGICK, [
    "-size",
    `${WIDTH}x${HEIGHT}`,
    "-seed",
    "7",
    "gradient:#c08060-#305070",
    "-fill",
    "#e0c020",
    "-draw",
    `circle ${WIDTH / 3},${HEIGHT / 2} ${WIDTH / 3 + 600},${HEIGHT / 2}`,
    "-attenuate",
    "0.6",
    "+noise",
    "Gaussian",
    "-quality",
    "90",
    jpeg,
  ]);
  const heic = join(dir, "camera.heic");
  execFileSync("heif-enc", ["-q", "60", jpeg, "-o", heic], { stdio: "ignore" });
  return { jpeg, heic };
}

/** Renders `file` in a fresh process (sharp concurrency 1): its time and peak RSS. */
function processInChild(file: string, contentType: string, baseline = false): { ms: number; maxRssMiB: number; variantBytes: Record<string, number> } {
  const output = execFileSync(process.execPath, ["--import", "tsx", join(here, "process-image.ts"), file, contentType, ...(baseline ? ["--baseline"] : [])], {
    encoding: "utf8",
    env: { ...process.env, UV_THREADPOOL_SIZE: "1" },
    stdio: ["ignore", "pipe", "ignore"],
  });
  return JSON.parse(output.trim().split("\n").at(-1)!);
}

function processing(files: { jpeg: string; heic: string }, runs: number) {
  const one = (file: string, contentType: string) => {
    const samples = Array.from({ length: runs }, () => processInChild(file, contentType));
    return {
      ms: round(median(samples.map((s) => s.ms)), 0),
      peakRssMiB: round(Math.max(...samples.map((s) => s.maxRssMiB)), 0),
      variantBytes: samples[0]!.variantBytes,
    };
  };
  return {
    megapixels: (WIDTH * HEIGHT) / 1e6,
    sharpConcurrency: 1,
    // The same process loading the same modules and processing nothing (Node + tsx + sharp + libheif).
    baselineRssMiB: round(processInChild(files.jpeg, "image/jpeg", true).maxRssMiB, 0),
    jpeg: one(files.jpeg, "image/jpeg"),
    heic: one(files.heic, "image/heic"),
  };
}

/** 30 distinct camera-like JPEGs, linked and processed, then downloaded as thumbs and as originals through signed URLs. */
async function gallery(deps: MediaBenchDeps, sourceJpeg: string, count: number) {
  const source = await readFile(sourceJpeg);
  const store = deps.stores.ioredis;
  const coach: Identity = { userId: "user_coach", orgId: "org_gallery", role: "coach" };
  const keys: string[] = [];
  let uploadedBytes = 0;
  for (let i = 0; i < count; i++) {
    const photo = await sharp(source)
      .modulate({ hue: (i * 37) % 360, brightness: 0.85 + (i % 7) * 0.05 })
      .flop(i % 2 === 1)
      .jpeg({ quality: 90 })
      .toBuffer();
    const uploadId = randomBytes(16).toString("hex");
    const userId = `user_member_${i % 5}`;
    const key = mediaKey({ orgId: coach.orgId!, ownerType: "progress_photo", userId, uploadId, contentType: "image/jpeg" });
    await deps.objects.put({ bucket: deps.buckets.media, key, body: photo, contentType: "image/jpeg", checksumSha256: sha256(photo) });
    await store.stage({
      uploads: [
        { uploadId, ownerType: "progress_photo", orgId: coach.orgId!, userId, bucket: deps.buckets.media, key, contentType: "image/jpeg", size: photo.length },
      ],
      lifetimeSeconds: 600,
      quota: { orgId: coach.orgId!, defaultQuotaBytes: 1e15 },
    });
    await store.commitConsume({
      uploadIds: [uploadId],
      owner: { orgId: coach.orgId!, userId },
      ownerType: "progress_photo",
      replayKey: `bench-gallery-${uploadId}`,
      stored: { fingerprint: "bench", response: "{}" },
      replayTtlSeconds: 60,
      finalObjects: [{ bucket: deps.buckets.media, key }],
    });
    const job: MediaJob = { bucket: deps.buckets.media, key, contentType: "image/jpeg", orgId: coach.orgId! };
    await store.ackMediaJobs([job]);
    const result = await processMedia({ objects: deps.objects, variants: store, images: benchCodecs }, job);
    if (result !== "ready") throw new Error(`gallery photo ${i} was ${result}`);
    keys.push(key);
    uploadedBytes += photo.length;
  }
  /** Bytes actually received when the coach's browser GETs every signed URL of this variant. */
  const download = async (variant: "thumb" | "display" | "original") => {
    const { urls } = await signedUrls({ signer: deps.signer, buckets: deps.buckets, variants: store }, coach, { keys, expiresIn: 900, variant });
    let bytes = 0;
    for (const u of urls) {
      if (u.status !== "ready" || !u.url) throw new Error(`${u.key} is ${u.status}`);
      const res = await fetch(u.url);
      if (!res.ok) throw new Error(`GET ${variant} answered ${res.status}`);
      bytes += (await res.arrayBuffer()).byteLength;
    }
    return bytes;
  };
  const [thumbBytes, displayBytes, originalBytes] = [await download("thumb"), await download("display"), await download("original")];
  return {
    photos: count,
    megapixels: (WIDTH * HEIGHT) / 1e6,
    uploadedBytes,
    meanUploadedBytes: Math.round(uploadedBytes / count),
    thumbBytes,
    displayBytes,
    originalBytes,
    // The served original is the processed copy (metadata stripped); the uploaded bytes are never served.
    originalsOverThumbs: round(originalBytes / thumbBytes, 1),
    uploadedOverThumbs: round(uploadedBytes / thumbBytes, 1),
  };
}

/**
 * signed-urls of 100 images (one batched Redis read of their states) vs 100 videos whose states
 * come from memory (no round trip: what the read costs on its own), per driver. Deployed, videos
 * read their states too (their facts), in the same one batched read.
 */
async function signedGetRedisRead(deps: MediaBenchDeps, rounds: number) {
  const caller: Identity = { userId: "user_read", orgId: "org_read", role: "admin" };
  const store = deps.stores.ioredis;
  const images: string[] = [];
  for (let i = 0; i < 100; i++) {
    const uploadId = randomBytes(16).toString("hex");
    const key = mediaKey({ orgId: caller.orgId!, ownerType: "progress_photo", userId: caller.userId, uploadId, contentType: "image/jpeg" });
    await store.stage({
      uploads: [
        {
          uploadId,
          ownerType: "progress_photo",
          orgId: caller.orgId!,
          userId: caller.userId,
          bucket: deps.buckets.media,
          key,
          contentType: "image/jpeg",
          size: 1,
        },
      ],
      lifetimeSeconds: 600,
      quota: { orgId: caller.orgId!, defaultQuotaBytes: 1e15 },
    });
    await store.commitConsume({
      uploadIds: [uploadId],
      owner: { orgId: caller.orgId!, userId: caller.userId },
      ownerType: "progress_photo",
      replayKey: `bench-read-${uploadId}`,
      stored: { fingerprint: "bench", response: "{}" },
      replayTtlSeconds: 60,
      finalObjects: [{ bucket: deps.buckets.media, key }],
    });
    // A recorded outcome as process-media writes it (the read's cost does not depend on the pixels).
    const variant = (name: string, ext: string) => ({
      key: `variants/${key.replace(/\.jpg$/, "")}/${name}.${ext}`,
      contentType: `image/${ext === "jpg" ? "jpeg" : ext}`,
      size: 1,
    });
    await store.recordMedia(
      { bucket: deps.buckets.media, key, orgId: caller.orgId! },
      {
        status: "ready",
        width: 4000,
        height: 3000,
        placeholder: "3OcRJYB4d3h/iIeHeEh3eIhw+j2w",
        variants: { original: variant("original", "jpg"), display: variant("display", "webp"), thumb: variant("thumb", "webp") },
      },
    );
    images.push(key);
  }
  const videos = Array.from({ length: 100 }, () => `${caller.orgId}/message/${caller.userId}/${randomBytes(16).toString("hex")}.mp4`);
  const timeMs = async (run: () => Promise<unknown>) => {
    await run();
    const samples: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const start = performance.now();
      await run();
      samples.push(performance.now() - start);
    }
    return median(samples);
  };
  const result: Record<string, unknown> = {};
  for (const [name, variants] of Object.entries(deps.stores)) {
    const sign = (keys: string[]) => () =>
      signedUrls({ signer: deps.signer, buckets: deps.buckets, variants }, caller, { keys, expiresIn: 3600, variant: "thumb" });
    const noRead = () => signedUrls({ signer: deps.signer, buckets: deps.buckets, variants: new MemoryStore() }, caller, { keys: videos, expiresIn: 3600 });
    const [videoMs, imageMs] = [await timeMs(noRead), await timeMs(sign(images))];
    result[name] = { videosMs: round(videoMs, 3), imagesMs: round(imageMs, 3), imagesOverVideos: round(imageMs / videoMs, 1), extraRedisReads: 1 };
  }
  return result;
}

/** Probe + one frame + JPEG of a 10 s 1920×1080 H.264 clip (testsrc, made by the same ffmpeg), median of `rounds`. */
async function posterOf1080p(dir: string, rounds: number) {
  const file = join(dir, "clip.mp4");
  await writeFile(file, await testVideo({ width: 1920, height: 1080, seconds: 10 }));
  const ffmpeg = packagedFfmpeg();
  const samples: number[] = [];
  let poster = { width: 0, height: 0, bytes: 0 };
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    const rendered = await renderVideoPoster(ffmpeg, file, "video/mp4", benchCodecs.codec);
    samples.push(performance.now() - start);
    poster = { width: rendered.poster.width, height: rendered.poster.height, bytes: rendered.poster.bytes.length };
  }
  return { seconds: 10, width: 1920, height: 1080, ms: round(median(samples), 0), poster };
}

export async function benchMedia(deps: MediaBenchDeps): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), "fitkit-bench-media-"));
  try {
    console.error("media: making 12-MP photos…");
    const files = makeSourcePhotos(dir);
    const sourceBytes = { jpeg: (await readFile(files.jpeg)).length, heic: (await readFile(files.heic)).length };
    console.error("media: processing (child processes)…");
    const processed = { ...processing(files, deps.quick ? 1 : 3), sourceBytes };
    console.error("media: signed-get's Redis read…");
    const signedGet = await signedGetRedisRead(deps, deps.quick ? 20 : 60);
    console.error(`media: gallery of ${GALLERY_PHOTOS} photos…`);
    const galleryResult = await gallery(deps, files.jpeg, GALLERY_PHOTOS);
    console.error("media: a 1080p video's poster…");
    const videoPoster = await posterOf1080p(dir, deps.quick ? 1 : 3);
    return { processing: processed, gallery30: galleryResult, signedGet100: signedGet, videoPoster };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
