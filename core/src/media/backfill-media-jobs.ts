/**
 * The backfill of images (and videos) linked before their processing existed: they have no outcome
 * and no job, so they would stay `processing` forever. It lists the media bucket and puts a job in
 * the outbox for each linked image or video without an outcome; the sweeper's re-drive (`redriveMediaJobs`) then hands them
 * to the queue, as for any hand-off that did not complete.
 */
import { parseObjectKey } from "../policies/object-keys.js";
import type { ObjectStore } from "../storage/object-store.js";
import { isProcessableMedia, type MediaJob, type MediaVariants } from "./media-variants.js";

/** Jobs scheduled per store step: one bounded script (and one outbox write) at a time. */
export const BACKFILL_BATCH_SIZE = 100;

export interface BackfillMediaDeps {
  variants: Pick<MediaVariants, "scheduleMediaJobs">;
  objects: Pick<ObjectStore, "list">;
  mediaBucket: string;
}

export interface BackfillMediaReport {
  /** Images and videos (processable types, under upload keys) found in the listing; the name predates video posters. */
  images: number;
  /** Jobs put in the outbox: linked images and videos with no outcome and no pending job. */
  scheduled: number;
}

/**
 * Invariant: idempotent and safe while the service runs — a job is scheduled only for an image
 * that is linked to its org, has no recorded outcome and has no job in the outbox, in one atomic
 * store step per batch; a second run schedules nothing new. Only upload keys are considered
 * (variants and compliance keys are not images to process). An image whose job is on the queue
 * (handed over, not processed yet) may get a second job: processing is idempotent.
 */
export async function backfillMediaJobs(deps: BackfillMediaDeps, request: { orgId?: string }): Promise<BackfillMediaReport> {
  let images = 0;
  let scheduled = 0;
  const prefix = request.orgId ? `${request.orgId}/` : "";
  for await (const page of deps.objects.list(deps.mediaBucket, prefix)) {
    const jobs: MediaJob[] = [];
    for (const { key } of page) {
      const parsed = parseObjectKey(key);
      if (parsed?.bucket !== "media" || !isProcessableMedia(parsed.contentType)) continue;
      jobs.push({ bucket: deps.mediaBucket, key, contentType: parsed.contentType, orgId: parsed.orgId });
    }
    images += jobs.length;
    for (let start = 0; start < jobs.length; start += BACKFILL_BATCH_SIZE) {
      scheduled += (await deps.variants.scheduleMediaJobs(jobs.slice(start, start + BACKFILL_BATCH_SIZE))).scheduled;
    }
  }
  return { images, scheduled };
}
