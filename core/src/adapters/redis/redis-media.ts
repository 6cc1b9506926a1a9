/**
 * The media area on Redis (media-scripts.ts; its in-memory twin is memory/memory-media.ts):
 * processing outcomes recorded on the linked markers (their variants' bytes counted in `used`), and
 * the media outbox consume fills and the re-drive and backfill claim from.
 */
import { encodeMediaJob, type MediaJob, type MediaOutcome, type MediaState, type MediaVariants } from "../../media/media-variants.js";
import type { ObjectRef } from "../../quotas/linked-objects.js";
import * as scripts from "./media-scripts.js";
import { listOf, type RedisAreaBase } from "./redis-area.js";
import { redisKeys } from "./redis-keys.js";

export const RedisMedia = <B extends RedisAreaBase>(Base: B) =>
  class RedisMedia extends Base implements MediaVariants {
    async mediaStates(objects: ObjectRef[]): Promise<(MediaState | null)[]> {
      return (await this.storedLinks(objects)).map((link) => {
        if (!link) return null;
        const { media } = link;
        if (!media) return { status: "processing" };
        const { variantBytes: _counted, ...outcome } = media;
        return outcome;
      });
    }

    async recordMedia(object: ObjectRef & { orgId: string }, outcome: MediaOutcome): Promise<{ linked: boolean; recorded: boolean }> {
      const variantBytes = outcome.status === "ready" ? Object.values(outcome.variants).reduce((sum, v) => sum + v.size, 0) : 0;
      return this.run(
        scripts.RECORD_MEDIA,
        [redisKeys.linked(object.bucket, object.key), redisKeys.quota(object.orgId)],
        [object.orgId, JSON.stringify(outcome), String(variantBytes)],
      );
    }

    async claimMediaJobs(request: { limit: number; leaseSeconds: number }): Promise<MediaJob[]> {
      const reply = await this.run<{ jobs: string[] | Record<string, never> }>(
        scripts.CLAIM_MEDIA_JOBS,
        [redisKeys.mediaOutbox()],
        [String(request.limit), String(request.leaseSeconds * 1000)],
      );
      return listOf(reply.jobs).map((raw) => JSON.parse(raw) as MediaJob);
    }

    async ackMediaJobs(jobs: MediaJob[]): Promise<void> {
      if (jobs.length === 0) return;
      await this.run(scripts.ACK_MEDIA_JOBS, [redisKeys.mediaOutbox()], jobs.map(encodeMediaJob));
    }

    async scheduleMediaJobs(jobs: MediaJob[]): Promise<{ scheduled: number }> {
      if (jobs.length === 0) return { scheduled: 0 };
      return this.run(
        scripts.SCHEDULE_MEDIA_JOBS,
        [redisKeys.mediaOutbox(), ...jobs.map((job) => redisKeys.linked(job.bucket, job.key))],
        jobs.map(encodeMediaJob),
      );
    }
  };
