/**
 * Processing of one linked image or video (the `process-media` worker): read the upload, render
 * its variants (an image's three copies; a video's playback rendition, metadata-free copy and
 * poster frame, with its facts), store them under
 * server-made keys and record the outcome on the link. Runs in the background, after consume; a
 * job may arrive more than once.
 */

import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import * as z from "zod";
import { type Log, silentLog } from "../logging.js";
import { IMAGE_VARIANTS, type ImageVariant, type MediaVariant, parseObjectKey, variantKey } from "../policies/object-keys.js";
import { EXTENSION_BY_TYPE } from "../policies/owner-types.js";
import type { ObjectStore } from "../storage/object-store.js";
import type { ImageCodecs } from "./image-codec.js";
import { ImageRejectedError, renderVariants } from "./image-pipeline.js";
import { MAX_SOURCE_BYTES } from "./limits.js";
import {
  isProcessableMedia,
  isProcessableVideo,
  type MediaJob,
  type MediaOutcome,
  type MediaVariants,
  type ReadyImage,
  type ReadyVideo,
  type StoredVariant,
} from "./media-variants.js";
import type { VideoCodec } from "./video-codec.js";
import { renderVideo, VideoRejectedError, type VideoTimeBounds } from "./video-pipeline.js";

/** A queue message, as produced by `encodeMediaJob`. */
export const mediaJobSchema = z.object({
  bucket: z.string().min(1),
  key: z.string().min(1).max(1024),
  contentType: z.string().refine(isProcessableMedia, "not a processable image or video type"),
  orgId: z.string().min(1),
});

/** Videos are copied to a temporary file (ffmpeg seeks in them): the owner-type table allows 500 MiB. */
export const MAX_VIDEO_SOURCE_BYTES = 512 * 1024 * 1024;

export interface ProcessMediaDeps {
  objects: Pick<ObjectStore, "stream" | "put" | "deleteObjects">;
  variants: Pick<MediaVariants, "recordMedia">;
  /** The image codecs (sharp, libheif): an image's variants and a video's poster are encoded with them. */
  images: ImageCodecs;
  /** What videos are read and written with; a video job without it throws (a deployment fault, retried). */
  videoCodec?: VideoCodec;
  /** The codec's time bounds (video-pipeline.ts' defaults when absent). */
  videoTimeBounds?: VideoTimeBounds;
  log?: Log;
}

export type ProcessMediaResult = "ready" | "failed" | "already-recorded" | "not-linked";

/** Writes one variant of the job's upload (same key, same bytes for the same job) and notes its key. */
type StoreVariant = (variant: MediaVariant, rendered: { bytes: Buffer; contentType: string; extension: string }) => Promise<StoredVariant>;

async function readAll(objects: ProcessMediaDeps["objects"], job: MediaJob): Promise<Buffer | null> {
  const stream = await objects.stream(job.bucket, job.key, MAX_SOURCE_BYTES);
  if (!stream) return null;
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const base64Sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("base64");

async function processImage(deps: ProcessMediaDeps, job: MediaJob, store: StoreVariant): Promise<ReadyImage | null> {
  const source = await readAll(deps.objects, job);
  if (!source) return null;
  const rendered = await renderVariants(deps.images, source, job.contentType);
  const stored = {} as Record<ImageVariant, StoredVariant>;
  await Promise.all(
    rendered.variants.map(async (v) => {
      stored[v.variant] = await store(v.variant, v);
    }),
  );
  if (IMAGE_VARIANTS.some((v) => !stored[v])) throw new Error("a variant was not rendered");
  return { status: "ready", width: rendered.width, height: rendered.height, placeholder: rendered.placeholder, variants: stored };
}

/** The video is copied to a private temporary directory (ffmpeg seeks in it), removed whatever happens. */
async function processVideo(deps: ProcessMediaDeps, job: MediaJob, store: StoreVariant): Promise<ReadyVideo | null> {
  if (!deps.videoCodec) throw new Error("process-media has no video codec for video jobs");
  const parsed = parseObjectKey(job.key);
  if (parsed?.bucket !== "media") throw new TypeError("a media job names a linked media key");
  const stream = await deps.objects.stream(job.bucket, job.key, MAX_VIDEO_SOURCE_BYTES);
  if (!stream) return null;
  const directory = await mkdtemp(join(tmpdir(), "fitkit-video-"));
  try {
    const file = join(directory, "source");
    await pipeline(stream, createWriteStream(file, { mode: 0o600 }));
    const extension = EXTENSION_BY_TYPE[job.contentType]!;
    const rendered = await renderVideo(deps.videoCodec, {
      input: { file, contentType: job.contentType },
      ownerType: parsed.ownerType,
      files: { playback: join(directory, "playback.mp4"), original: join(directory, `original.${extension}`) },
      inputBytes: (await stat(file)).size,
      ...(deps.videoTimeBounds ? { bounds: deps.videoTimeBounds } : {}),
      imageCodec: deps.images.codec,
    });
    // One after the other: the two videos are the largest buffers the worker holds.
    const playback = await store("playback", { bytes: await readFile(rendered.playback.file), contentType: "video/mp4", extension: "mp4" });
    const original = await store("original", { bytes: await readFile(rendered.original.file), contentType: job.contentType, extension });
    const poster = await store("poster", { bytes: rendered.poster.bytes, contentType: "image/jpeg", extension: "jpg" });
    return {
      status: "ready",
      width: rendered.width,
      height: rendered.height,
      durationMs: rendered.durationMs,
      placeholder: rendered.poster.placeholder,
      variants: { original, playback, poster },
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * Invariant: idempotent — the same job always writes the same keys with the same bytes, and the
 * outcome (with its bytes counted in the org's `used`) is recorded once; variants written for an
 * object released meanwhile are deleted again. A rejected image (bomb, truncated, undecodable) or
 * video (unreadable, over its owner type's pixels or duration, outrunning its time bound) is recorded as failed
 * with its code and never throws; storage or store failures throw, so the queue retries the job.
 */
export async function processMedia(deps: ProcessMediaDeps, job: MediaJob): Promise<ProcessMediaResult> {
  const log = deps.log ?? silentLog;
  const written: string[] = [];
  const store: StoreVariant = async (variant, rendered) => {
    const key = variantKey(job.key, variant, rendered.extension);
    written.push(key);
    await deps.objects.put({ bucket: job.bucket, key, body: rendered.bytes, contentType: rendered.contentType, checksumSha256: base64Sha256(rendered.bytes) });
    return { key, contentType: rendered.contentType, size: rendered.bytes.length };
  };

  let outcome: MediaOutcome;
  try {
    const ready = isProcessableVideo(job.contentType) ? await processVideo(deps, job, store) : await processImage(deps, job, store);
    // Released (and deleted) before processing: nothing to do, and no link to record on.
    if (!ready) return "not-linked";
    outcome = ready;
  } catch (error) {
    if (!(error instanceof ImageRejectedError || error instanceof VideoRejectedError)) throw error;
    log.warn("media rejected by processing", { key: job.key, orgId: job.orgId, code: error.code, reason: error.message });
    outcome = { status: "failed", code: error.code };
  }

  const { linked, recorded } = await deps.variants.recordMedia({ bucket: job.bucket, key: job.key, orgId: job.orgId }, outcome);
  if (!linked) {
    if (written.length > 0) await deps.objects.deleteObjects(job.bucket, written);
    return "not-linked";
  }
  if (!recorded) return "already-recorded";
  return outcome.status;
}

// The hand-off lives in its own module so that consume and the sweeper never load sharp or libheif;
// re-exported here for importers of the worker module.
export { handOffMediaJobs, type MediaHandoffDeps, REDRIVE_BATCH_SIZE, REDRIVE_LEASE_SECONDS, redriveMediaJobs } from "./media-handoff.js";
