/**
 * The media area in memory (the twin of redis/redis-media.ts): processing outcomes of linked
 * objects (their variants' bytes counted in `used`) and the media outbox.
 */
import { encodeMediaJob, isSupersededOutcome, type MediaJob, type MediaOutcome, type MediaState, type MediaVariants } from "../../media/media-variants.js";
import type { ObjectRef } from "../../quotas/linked-objects.js";
import { clone, linkId, type MemoryStateBase, variantBytesOf } from "./memory-state.js";

export const MemoryMedia = <B extends MemoryStateBase>(Base: B) =>
  class MemoryMedia extends Base implements MediaVariants {
    async mediaStates(objects: ObjectRef[]): Promise<(MediaState | null)[]> {
      return objects.map((o) => {
        if (!this.linked.has(linkId(o))) return null;
        return clone(this.media.get(linkId(o)) ?? { status: "processing" as const });
      });
    }

    async recordMedia(object: ObjectRef & { orgId: string }, outcome: MediaOutcome): Promise<{ linked: boolean; recorded: boolean }> {
      const id = linkId(object);
      if (this.linked.get(id)?.orgId !== object.orgId) return { linked: false, recorded: false };
      const previous = this.media.get(id);
      if (previous && !isSupersededOutcome(previous)) return { linked: true, recorded: false };
      this.media.set(id, clone(outcome));
      this.counters(object.orgId).used += variantBytesOf(outcome) - (previous ? variantBytesOf(previous) : 0);
      return { linked: true, recorded: true };
    }

    async claimMediaJobs(request: { limit: number; leaseSeconds: number }): Promise<MediaJob[]> {
      const now = this.clock.now();
      const due = [...this.mediaOutbox.entries()]
        .filter(([, at]) => at <= now)
        .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, request.limit);
      for (const [job] of due) this.mediaOutbox.set(job, now + request.leaseSeconds * 1000);
      return due.map(([job]) => JSON.parse(job) as MediaJob);
    }

    async ackMediaJobs(jobs: MediaJob[]): Promise<void> {
      for (const job of jobs) this.mediaOutbox.delete(encodeMediaJob(job));
    }

    async scheduleMediaJobs(jobs: MediaJob[]): Promise<{ scheduled: number }> {
      const now = this.clock.now();
      let scheduled = 0;
      for (const job of jobs) {
        const id = linkId(job);
        const encoded = encodeMediaJob(job);
        const recorded = this.media.has(id) && !isSupersededOutcome(this.media.get(id));
        if (this.linked.get(id)?.orgId !== job.orgId || recorded || this.mediaOutbox.has(encoded)) continue;
        this.mediaOutbox.set(encoded, now);
        scheduled += 1;
      }
      return { scheduled };
    }
  };
