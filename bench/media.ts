/**
 * The media part of `npm run bench`: what processing costs (time and peak memory of a 12-MP JPEG
 * and HEIC, single-threaded, each in its own process), what it saves (bytes a coach downloads for
 * a gallery of 30 progress photos as thumbs versus originals, through real signed URLs), what
 * it adds to signed-urls (the batched Redis read for images and videos, ioredis and Upstash). Videos
 * have their own section (bench/video.ts).
 *
 * Photos are made with real tools as the test fixtures are (support/media.ts): ImageMagick draws a
 * camera-like 12-MP picture (gradient + sensor-like noise, so it does not compress to nothing),
 * heif-enc (libheif, x265) encodes the HEIC; the gallery's 30 photos are that picture shifted in
 * hue, brightness and framing by sharp, each a distinct 3–6 MB JPEG.
 */
import { execFile, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { HEIF_CONVERT, NativeHeifDecoder } from "@fitkit/core/adapters/libheif/native-heif-decoder";
import { MemoryStore } from "@fitkit/core/adapters/memory/memory-store";
import type { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { SharpImageCodec } from "@fitkit/core/adapters/sharp/sharp-image-codec";
import type { Identity } from "@fitkit/core/auth/identity";
import type { ImageCodecs, RawPixels } from "@fitkit/core/media/image-codec";
import { VARIANT_TARGETS } from "@fitkit/core/media/image-pipeline";
import { stripJpegMetadata } from "@fitkit/core/media/jpeg-metadata";
import type { MediaJob } from "@fitkit/core/media/media-variants";
import { processMedia } from "@fitkit/core/media/process-media";
import { mediaKey } from "@fitkit/core/policies/object-keys";
import { signedUrls } from "@fitkit/core/signed-urls/signed-urls";
import type { ObjectStore } from "@fitkit/core/storage/object-store";
import type { UrlSigner } from "@fitkit/core/storage/url-signer";
import sharp from "sharp";
import { startLocalStack } from "../support/local-stack.js";
import { median, timeMs } from "./stats.js";
import { texturedPhoto } from "./textured-photo.js";

const here = dirname(fileURLToPath(import.meta.url));
/** As the deployed media worker has them: sharp, Debian's native heif-convert. */
const benchCodecs: ImageCodecs = { codec: new SharpImageCodec(), heif: new NativeHeifDecoder() };
const WIDTH = 4000;
const HEIGHT = 3000;
const GALLERY_PHOTOS = 30;
const execFileAsync = promisify(execFile);
const AVIF_EFFORT = 2;

const round = (value: number, digits = 2) => Number(value.toFixed(digits));
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("base64");

export interface MediaBenchDeps {
  quick: boolean;
  objects: ObjectStore;
  signer: UrlSigner;
  buckets: { media: string; compliance: string; records: string };
  /** The same Redis through both drivers. */
  stores: { ioredis: RedisStore; upstash: RedisStore };
}

/**
 * A 12-MP photo as a phone stores it — a textured picture (bench/textured-photo.ts) as a quality-90
 * JPEG with GPS and camera EXIF (exiftool) — and the same picture as an HEVC HEIC (heif-enc).
 */
async function makeSourcePhotos(dir: string): Promise<{ jpeg: string; heic: string }> {
  const jpeg = join(dir, "camera.jpg");
  await writeFile(jpeg, await texturedPhoto(WIDTH, HEIGHT));
  execFileSync("exiftool", [
    "-q",
    "-overwrite_original",
    "-n",
    "-GPSLatitude=48.8584",
    "-GPSLatitudeRef=N",
    "-GPSLongitude=2.2945",
    "-GPSLongitudeRef=E",
    "-Make=FitPhone",
    "-Orientation=1",
    jpeg,
  ]);
  const heic = join(dir, "camera.heic");
  execFileSync("heif-enc", ["-q", "60", jpeg, "-o", heic], { stdio: "ignore" });
  return { jpeg, heic };
}

/**
 * The baselines the processing goals are ratios of, measured in this run on this machine: one
 * libvips resize of the JPEG to the display size written as the display copy is (sharp,
 * shrink-on-load, WebP with the display's settings) — and, for comparison, written as JPEG — and
 * one native libheif decode + JPEG encode of the HEIC (`heif-convert -q 90`, no bounds).
 */
async function baselines(dir: string, files: { jpeg: string; heic: string }, rounds: number) {
  const jpeg = await readFile(files.jpeg);
  const out = join(dir, "baseline.jpg");
  const display = VARIANT_TARGETS[0];
  const resized = () => sharp(jpeg).resize(display.longEdge, display.longEdge, { fit: "inside" });
  return {
    libvipsDisplayResizeMs: round(await timeMs(() => resized().webp({ quality: display.quality, effort: display.effort }).toBuffer(), rounds), 0),
    libvipsDisplayResizeToJpegMs: round(await timeMs(() => resized().jpeg().toBuffer(), rounds), 0),
    heifConvertMs: round(await timeMs(() => execFileAsync(HEIF_CONVERT, ["--quiet", "-q", "90", files.heic, out]), rounds), 0),
  };
}

/**
 * From consume to every variant ready, on the local stack (`npm start`: the deployed handlers, the
 * in-process queue, the embedded S3 server): presign and PUT the photo, then time from the consume
 * request to process-media's "media processed" log line (its timestamp) for that key. The first
 * photo warms the worker (module loading, as a Lambda cold start) and is reported apart.
 */
async function consumeToReady(files: { jpeg: string; heic: string }, rounds: number) {
  const stack = await startLocalStack();
  try {
    const who = { orgId: "org_media_bench", userId: "user_media_bench" };
    const token = await stack.token({ ...who, role: "member" });
    const once = async (bytes: Buffer, contentType: string): Promise<number> => {
      const presigned = await fetch(`${stack.api}/uploads`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ ownerType: "progress_photo", files: [{ contentType, size: bytes.length }] }),
      });
      if (presigned.status !== 201) throw new Error(`presign answered ${presigned.status}: ${await presigned.text()}`);
      const upload = ((await presigned.json()) as { uploads: { uploadId: string; key: string; url: string; headers: Record<string, string> }[] }).uploads[0]!;
      const put = await fetch(upload.url, { method: "PUT", headers: upload.headers, body: bytes as BodyInit });
      if (put.status !== 200) throw new Error(`PUT answered ${put.status}`);
      const start = Date.now();
      const consumed = await stack.internal("consume", {
        uploadIds: [upload.uploadId],
        ownerType: "progress_photo",
        owner: who,
        idempotencyKey: `bench-media-${upload.uploadId}`,
      });
      if (consumed.status !== 200) throw new Error(`consume answered ${consumed.status}`);
      for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 5))) {
        const line = stack.logs.find((l) => l.message === "media processed" && l.key === upload.key);
        if (!line) continue;
        if (line.result !== "ready") throw new Error(`${contentType} was ${String(line.result)}`);
        return Date.parse(String(line.timestamp)) - start;
      }
      throw new Error(`${contentType} not processed within 120 s`);
    };
    const measure = async (file: string, contentType: string) => {
      const bytes = await readFile(file);
      const first = await once(bytes, contentType);
      const samples: number[] = [];
      for (let i = 0; i < rounds; i++) samples.push(await once(bytes, contentType));
      return { ms: round(median(samples), 0), firstMs: first };
    };
    return { jpeg: await measure(files.jpeg, "image/jpeg"), heic: await measure(files.heic, "image/heic") };
  } finally {
    await stack.close();
  }
}

/**
 * The full-size copy of the JPEG: its metadata cut out losslessly (what process-media does) against
 * a re-encode at quality 90 with libjpeg-turbo and with mozjpeg (what it did) — time and bytes.
 */
async function fullSizeCopy(file: string, rounds: number) {
  const jpeg = await readFile(file);
  const stripped = stripJpegMetadata(jpeg, { orientation: 1 });
  const turbo = await sharp(jpeg).jpeg({ quality: 90 }).toBuffer();
  const mozjpeg = await sharp(jpeg).jpeg({ quality: 90, mozjpeg: true }).toBuffer();
  return {
    uploadedBytes: jpeg.length,
    lossless: { ms: round(await timeMs(async () => stripJpegMetadata(jpeg, { orientation: 1 }), rounds), 1), bytes: stripped.length },
    turboQ90: { ms: round(await timeMs(() => sharp(jpeg).jpeg({ quality: 90 }).toBuffer(), rounds), 0), bytes: turbo.length },
    mozjpegQ90: { ms: round(await timeMs(() => sharp(jpeg).jpeg({ quality: 90, mozjpeg: true }).toBuffer(), Math.min(rounds, 2)), 0), bytes: mozjpeg.length },
  };
}

/** Mean SSIM of the luminance of two same-sized RGB(A) images, over 8×8 windows (Wang et al. 2004 constants). */
function ssim(a: RawPixels, b: RawPixels): number {
  const luma = (p: RawPixels, i: number) => 0.299 * p.data[i * p.channels]! + 0.587 * p.data[i * p.channels + 1]! + 0.114 * p.data[i * p.channels + 2]!;
  const [c1, c2] = [(0.01 * 255) ** 2, (0.03 * 255) ** 2];
  let total = 0;
  let windows = 0;
  for (let y = 0; y + 8 <= a.height; y += 8)
    for (let x = 0; x + 8 <= a.width; x += 8) {
      let [sa, sb, saa, sbb, sab] = [0, 0, 0, 0, 0];
      for (let dy = 0; dy < 8; dy++)
        for (let dx = 0; dx < 8; dx++) {
          const i = (y + dy) * a.width + x + dx;
          const [va, vb] = [luma(a, i), luma(b, i)];
          sa += va;
          sb += vb;
          saa += va * va;
          sbb += vb * vb;
          sab += va * vb;
        }
      const [ma, mb] = [sa / 64, sb / 64];
      const [va, vb, cov] = [saa / 64 - ma * ma, sbb / 64 - mb * mb, sab / 64 - ma * mb];
      total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      windows++;
    }
  return total / windows;
}

const rawOf = async (bytes: Buffer): Promise<RawPixels> => {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels as 3 | 4 };
};

/**
 * AVIF against WebP for the display and thumb copies at equal quality: the WebP as process-media
 * makes it; the AVIF (effort 2, as publish's renditions use — the default 4 is several times slower) at the lowest quality whose SSIM against the resized
 * picture is at least the WebP's; bytes and encode times of both (from the same resized pixels).
 */
async function avifVersusWebp(file: string, rounds: number) {
  const jpeg = await readFile(file);
  const result: Record<string, unknown> = {};
  for (const target of VARIANT_TARGETS) {
    const reference = await rawOf(await sharp(jpeg).resize(target.longEdge, target.longEdge, { fit: "inside" }).png({ compressionLevel: 0 }).toBuffer());
    const pixels = () => sharp(reference.data, { raw: { width: reference.width, height: reference.height, channels: reference.channels } });
    const webp = await pixels().webp({ quality: target.quality, effort: target.effort }).toBuffer();
    const webpSsim = ssim(reference, await rawOf(webp));
    let [low, high] = [20, 95];
    let avif = await pixels().avif({ quality: high, effort: AVIF_EFFORT }).toBuffer();
    while (high - low > 2) {
      const quality = Math.round((low + high) / 2);
      const candidate = await pixels().avif({ quality, effort: AVIF_EFFORT }).toBuffer();
      if (ssim(reference, await rawOf(candidate)) >= webpSsim) [high, avif] = [quality, candidate];
      else low = quality;
    }
    result[target.variant] = {
      width: reference.width,
      ssim: round(webpSsim, 4),
      webp: {
        quality: target.quality,
        effort: target.effort,
        bytes: webp.length,
        encodeMs: round(await timeMs(() => pixels().webp({ quality: target.quality, effort: target.effort }).toBuffer(), rounds), 0),
      },
      avif: {
        quality: high,
        effort: AVIF_EFFORT,
        bytes: avif.length,
        encodeMs: round(await timeMs(() => pixels().avif({ quality: high, effort: AVIF_EFFORT }).toBuffer(), rounds), 0),
      },
      avifOverWebpBytes: round(avif.length / webp.length, 2),
    };
  }
  return result;
}

/** Renders `file` in a fresh process (sharp concurrency 1): its time and peak RSS. */
function processInChild(
  file: string,
  contentType: string,
  baseline = false,
): { ms: number; maxRssMiB: number; variantBytes: Record<string, number>; original: string } {
  // GNU time reports the largest RSS of the process and of every child it waited for (the HEIC decoder's too).
  const rssFile = join(dirname(file), `rss-${process.hrtime.bigint()}`);
  const output = execFileSync(
    "/usr/bin/time",
    ["-f", "%M", "-o", rssFile, process.execPath, "--import", "tsx", join(here, "process-image.ts"), file, contentType, ...(baseline ? ["--baseline"] : [])],
    { encoding: "utf8", env: { ...process.env, UV_THREADPOOL_SIZE: "1" }, stdio: ["ignore", "pipe", "ignore"] },
  );
  const own = JSON.parse(output.trim().split("\n").at(-1)!);
  const treeKiB = Number(readFileSync(rssFile, "utf8").trim().split("\n").at(-1));
  return { ...own, maxRssMiB: Math.max(own.maxRssMiB, treeKiB / 1024) };
}

function processing(files: { jpeg: string; heic: string }, runs: number) {
  const one = (file: string, contentType: string) => {
    const samples = Array.from({ length: runs }, () => processInChild(file, contentType));
    return {
      ms: round(median(samples.map((s) => s.ms)), 0),
      peakRssMiB: round(Math.max(...samples.map((s) => s.maxRssMiB)), 0),
      variantBytes: samples[0]!.variantBytes,
      original: samples[0]!.original,
    };
  };
  return {
    megapixels: (WIDTH * HEIGHT) / 1e6,
    sharpConcurrency: 1,
    // The same process loading the same modules and processing nothing (Node + tsx + sharp + libheif).
    baselineRssMiB: round(processInChild(files.jpeg, "image/jpeg", true).maxRssMiB, 0),
    heifDecoder: benchCodecs.heif.name,
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
 * read their states too (whether linked, and their facts), in the same one batched read.
 */
async function signedUrlsRedisRead(deps: MediaBenchDeps, rounds: number) {
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
  // Only linked keys are signed: the baseline's videos are linked in memory, so it signs 100 URLs with no Redis read.
  const inMemory = new MemoryStore();
  for (const key of videos) inMemory.linked.set(`${deps.buckets.media}\u0000${key}`, { orgId: caller.orgId!, size: 1 });
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
    const noRead = () => signedUrls({ signer: deps.signer, buckets: deps.buckets, variants: inMemory }, caller, { keys: videos, expiresIn: 3600 });
    const [videoMs, imageMs] = [await timeMs(noRead), await timeMs(sign(images))];
    result[name] = { videosMs: round(videoMs, 3), imagesMs: round(imageMs, 3), imagesOverVideos: round(imageMs / videoMs, 1), extraRedisReads: 1 };
  }
  return result;
}

export async function benchMedia(deps: MediaBenchDeps): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), "fitkit-bench-media-"));
  try {
    console.error("media: making 12-MP photos…");
    const files = await makeSourcePhotos(dir);
    const sourceBytes = { jpeg: (await readFile(files.jpeg)).length, heic: (await readFile(files.heic)).length };
    const rounds = deps.quick ? 1 : 3;
    console.error("media: baselines (libvips resize, heif-convert)…");
    const baseline = await baselines(dir, files, rounds);
    console.error("media: consume → ready on the local stack…");
    const localStack = await consumeToReady(files, rounds);
    console.error("media: processing (child processes)…");
    const processed = { ...processing(files, rounds), sourceBytes };
    console.error("media: full-size copy, AVIF vs WebP…");
    const fullSize = await fullSizeCopy(files.jpeg, rounds);
    const avif = await avifVersusWebp(files.jpeg, rounds);
    console.error("media: signed-urls' Redis read…");
    const signedUrlsRead = await signedUrlsRedisRead(deps, deps.quick ? 20 : 60);
    console.error(`media: gallery of ${GALLERY_PHOTOS} photos…`);
    const galleryResult = await gallery(deps, files.jpeg, GALLERY_PHOTOS);
    const ratios = {
      jpegReadyOverResize: round(localStack.jpeg.ms / baseline.libvipsDisplayResizeMs, 2),
      heicReadyOverHeifConvert: round(localStack.heic.ms / baseline.heifConvertMs, 2),
    };
    return {
      quick: deps.quick,
      date: new Date().toISOString(),
      baseline,
      consumeToReady: localStack,
      ratios,
      goals: {
        jpegReadyOverResize: { goal: 2, met: ratios.jpegReadyOverResize <= 2 },
        heicReadyOverHeifConvert: { goal: 1.5, met: ratios.heicReadyOverHeifConvert <= 1.5 },
        peakRssMiB: { goal: 300, met: Math.max(processed.jpeg.peakRssMiB, processed.heic.peakRssMiB) <= 300 },
      },
      processing: processed,
      fullSizeCopy: fullSize,
      avifVersusWebp: avif,
      gallery30: galleryResult,
      signedUrls100: signedUrlsRead,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const met = (goal: { met: boolean }) => (goal.met ? "met" : "NOT met");

/** The media section's table rows, each figure with its goal where it has one. */
export function mediaRows(m: any): [string, string][] {
  const rows: [string, string][] = [];
  const r = m.consumeToReady;
  const b = m.baseline;
  if (r && b) {
    rows.push([
      "12-MP JPEG consume → every variant ready (local stack) / 1 libvips resize to the 1600-px WebP (goal ≤ 2×)",
      `${r.jpeg.ms} / ${b.libvipsDisplayResizeMs} ms → ${m.ratios.jpegReadyOverResize}× ${met(m.goals.jpegReadyOverResize)} (first, cold: ${r.jpeg.firstMs} ms; resize to JPEG: ${b.libvipsDisplayResizeToJpegMs} ms)`,
    ]);
    rows.push([
      "12-MP HEIC consume → ready (local stack) / heif-convert decode+encode (goal ≤ 1.5×)",
      `${r.heic.ms} / ${b.heifConvertMs} ms → ${m.ratios.heicReadyOverHeifConvert}× ${met(m.goals.heicReadyOverHeifConvert)} (first, cold: ${r.heic.firstMs} ms)`,
    ]);
  }
  const p = m.processing;
  rows.push([
    `process a ${p.megapixels}-MP JPEG / HEIC in its own process, 1 thread: ms · peak RSS MiB (goal ≤ 300; baseline ${p.baselineRssMiB})`,
    `${p.jpeg.ms} · ${p.jpeg.peakRssMiB} / ${p.heic.ms} · ${p.heic.peakRssMiB}${m.goals ? ` ${met(m.goals.peakRssMiB)}` : ""}${p.heifDecoder ? ` (HEIC: ${p.heifDecoder})` : ""}`,
  ]);
  const f = m.fullSizeCopy;
  if (f)
    rows.push([
      "JPEG full-size copy: lossless strip / turbo q90 / mozjpeg q90 — ms · KiB (uploaded KiB)",
      `${f.lossless.ms} · ${(f.lossless.bytes / 1024).toFixed(0)} / ${f.turboQ90.ms} · ${(f.turboQ90.bytes / 1024).toFixed(0)} / ${f.mozjpegQ90.ms} · ${(f.mozjpegQ90.bytes / 1024).toFixed(0)} (${(f.uploadedBytes / 1024).toFixed(0)})`,
    ]);
  for (const [name, a] of Object.entries<any>(m.avifVersusWebp ?? {}))
    rows.push([
      `${name} ${a.width} px at equal SSIM ${a.ssim}: WebP q${a.webp.quality} / AVIF q${a.avif.quality} effort ${a.avif.effort} — KiB · encode ms`,
      `${(a.webp.bytes / 1024).toFixed(1)} · ${a.webp.encodeMs} / ${(a.avif.bytes / 1024).toFixed(1)} · ${a.avif.encodeMs} → AVIF ${a.avifOverWebpBytes}× the bytes`,
    ]);
  const g = m.gallery30;
  rows.push([
    `gallery of ${g.photos} textured photos: thumbs / display / originals KiB (goal ≥ 20× fewer)`,
    `${(g.thumbBytes / 1024).toFixed(0)} / ${(g.displayBytes / 1024).toFixed(0)} / ${(g.originalBytes / 1024).toFixed(0)} → ${g.originalsOverThumbs}×`,
  ]);
  for (const [name, x] of Object.entries<any>(m.signedUrls100))
    rows.push([`signed-urls 100 images (state read) vs 100 videos (no read) (${name}), ms`, `${x.imagesMs} vs ${x.videosMs} → ${x.imagesOverVideos}×`]);
  if (m.videoPoster)
    rows.push([
      `poster of a ${m.videoPoster.seconds} s ${m.videoPoster.width}×${m.videoPoster.height} clip (probe + frame + JPEG), ms`,
      `${m.videoPoster.ms} → ${m.videoPoster.poster.width}×${m.videoPoster.poster.height}, ${(m.videoPoster.poster.bytes / 1024).toFixed(0)} KiB`,
    ]);
  return rows;
}
