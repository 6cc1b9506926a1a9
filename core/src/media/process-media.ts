/**
 * Processing of one linked image (the `process-media` worker): read the upload, render its
 * variants, store them under server-made keys and record the outcome on the link. Runs in the
 * background, after consume; a job may arrive more than once.
 */
import { createHash } from "node:crypto";
import * as z from "zod";
import { type Log, silentLog } from "../logging.js";
import { MEDIA_VARIANTS, type MediaVariant, variantKey } from "../policies/object-keys.js";
import type { ObjectStore } from "../storage/object-store.js";
import { ImageRejectedError, renderVariants } from "./image-pipeline.js";
import { isProcessableImage, type MediaJob, type MediaOutcome, type MediaVariants, type StoredVariant } from "./media-variants.js";

/** A queue message, as produced by `encodeMediaJob`. */
export const mediaJobSchema = z.object({
  bucket: z.string().min(1),
  key: z.string().min(1).max(1024),
  contentType: z.string().refine(isProcessableImage, "not a processable image type"),
  orgId: z.string().min(1),
});

/** Larger sources are not read whole into memory (uploads are far smaller; see the owner-type table). */
export const MAX_SOURCE_BYTES = 64 * 1024 * 1024;

export interface ProcessMediaDeps {
  objects: Pick<ObjectStore, "stream" | "put" | "deleteObjects">;
  variants: Pick<MediaVariants, "recordMedia">;
  log?: Log;
}

export type ProcessMediaResult = "ready" | "failed" | "already-recorded" | "not-linked";

async function readAll(objects: ProcessMediaDeps["objects"], job: MediaJob): Promise<Buffer | null> {
  const stream = await objects.stream(job.bucket, job.key, MAX_SOURCE_BYTES);
  if (!stream) return null;
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const base64Sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("base64");

/**
 * Invariant: idempotent — the same job always writes the same keys with the same bytes, and the
 * outcome (with its bytes counted in the org's `used`) is recorded once; variants written for an
 * object released meanwhile are deleted again. A rejected image (bomb, truncated, undecodable) is
 * recorded as failed with its code and never throws; storage or store failures throw, so the
 * queue retries the job.
 */
export async function processMedia(deps: ProcessMediaDeps, job: MediaJob): Promise<ProcessMediaResult> {
  const log = deps.log ?? silentLog;
  const source = await readAll(deps.objects, job);
  // Released (and deleted) before processing: nothing to do, and no link to record on.
  if (!source) return "not-linked";

  let outcome: MediaOutcome;
  const written: string[] = [];
  try {
    const rendered = await renderVariants(source, job.contentType);
    const stored = {} as Record<MediaVariant, StoredVariant>;
    await Promise.all(
      rendered.variants.map(async (v) => {
        const key = variantKey(job.key, v.variant, v.extension);
        written.push(key);
        await deps.objects.put({ bucket: job.bucket, key, body: v.bytes, contentType: v.contentType, checksumSha256: base64Sha256(v.bytes) });
        stored[v.variant] = { key, contentType: v.contentType, size: v.bytes.length };
      }),
    );
    if (MEDIA_VARIANTS.some((v) => !stored[v])) throw new Error("a variant was not rendered");
    outcome = { status: "ready", width: rendered.width, height: rendered.height, placeholder: rendered.placeholder, variants: stored };
  } catch (error) {
    if (!(error instanceof ImageRejectedError)) throw error;
    log.warn("image rejected by processing", { key: job.key, orgId: job.orgId, code: error.code, reason: error.message });
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
