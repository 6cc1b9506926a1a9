/**
 * The staging area in memory (the twin of redis/redis-staging.ts and its staging-scripts.ts): the
 * life of an upload — stage, consume, extend, discard, the sweeper's and the early release's work
 * lists and the URL watch — with the same semantics as the scripts.
 */
import { encodeMediaJob, MEDIA_HANDOFF_GRACE_SECONDS } from "../../media/media-variants.js";
import type {
  ClaimOutcome,
  CommitConsumeOutcome,
  CommitConsumeRequest,
  ConsumeFailureCode,
  ConsumeSnapshot,
  ExtendOutcome,
  HoldOutcome,
  StageOutcome,
  StageRequest,
  StagingStore,
  WatchClaimOutcome,
} from "../../staging/staging-store.js";
import type { StagedUpload } from "../../uploads/upload.js";
import { clone, linkId, type MemoryStateBase } from "./memory-state.js";

/** A URL-watch entry, as the Redis scripts keep it: `[bucket, key, storageUploadId, linked ('1' = skip while linked)]`. */
const watchEntry = (upload: StagedUpload, linked: boolean): string =>
  JSON.stringify([upload.bucket, upload.key, upload.multipart?.storageUploadId ?? "", linked ? "1" : ""]);

export const MemoryStaging = <B extends MemoryStateBase>(Base: B) =>
  class MemoryStaging extends Base implements Omit<StagingStore, "attachMultipart"> {
    async stage(request: StageRequest): Promise<StageOutcome> {
      const now = this.clock.now();
      if (request.uploads.some((u) => this.isErasing(u.orgId, u.userId))) return { ok: false, reason: "erasing" };
      if (request.replay) {
        const replayed = this.live(this.presignReplays, request.replay.key, now);
        if (replayed) return { ok: true, now, replayed: clone(replayed) };
      }
      const rate = request.rateLimit ? this.rateWindow(request.rateLimit, now) : null;
      if (rate?.retryAfterSeconds) return { ok: false, reason: "rate_limited", retryAfterSeconds: rate.retryAfterSeconds };
      const counters = this.counters(request.quota.orgId);
      const quota = counters.quota ?? request.quota.defaultQuotaBytes;
      const total = request.uploads.reduce((sum, u) => sum + u.size, 0);
      // A request the quota refuses still counts towards the rate limit.
      if (counters.used + counters.reserved + total > quota) {
        rate?.window.push(now);
        return {
          ok: false,
          reason: "quota_exceeded",
          limit: "org_quota",
          limitBytes: quota,
          remainingBytes: Math.max(0, quota - counters.used - counters.reserved),
        };
      }
      const byUser = new Map<string, number>();
      for (const upload of request.uploads) if (upload.userId) byUser.set(upload.userId, (byUser.get(upload.userId) ?? 0) + upload.size);
      const cap = request.quota.userInFlightBytes;
      for (const [userId, bytes] of byUser) {
        const held = counters.inFlight.get(userId) ?? 0;
        if (cap !== undefined && held + bytes > cap) {
          rate?.window.push(now);
          return { ok: false, reason: "quota_exceeded", limit: "user_in_flight", limitBytes: cap, remainingBytes: Math.max(0, cap - held) };
        }
      }
      counters.reserved += total;
      for (const [userId, bytes] of byUser) counters.inFlight.set(userId, (counters.inFlight.get(userId) ?? 0) + bytes);
      const deadline = now + request.lifetimeSeconds * 1000;
      for (const upload of request.uploads) {
        this.uploads.set(upload.uploadId, { ...clone(upload), status: "staged", deadline, createdAt: now });
        this.deadlines.set(upload.uploadId, deadline);
        if (request.urlLifetimeSeconds) this.urlExpiries.set(upload.uploadId, now + request.urlLifetimeSeconds * 1000);
      }
      rate?.window.push(now);
      if (request.replay)
        this.presignReplays.set(request.replay.key, { value: clone(request.replay.stored), expiresAt: now + request.replay.ttlSeconds * 1000 });
      return { ok: true, now };
    }

    async uploadRecords(uploadIds: string[]): Promise<(StagedUpload | null)[]> {
      return uploadIds.map((id) => clone(this.uploads.get(id) ?? null));
    }

    async loadForConsume(uploadIds: string[], replayKey: string): Promise<ConsumeSnapshot> {
      const now = this.clock.now();
      return {
        now,
        replay: clone(this.live(this.replays, replayKey, now)),
        uploads: uploadIds.map((id) => clone(this.uploads.get(id) ?? null)),
      };
    }

    async commitConsume(request: CommitConsumeRequest): Promise<CommitConsumeOutcome> {
      const now = this.clock.now();
      const replay = this.live(this.replays, request.replayKey, now);
      if (replay) return { ok: false, replay: clone(replay) };
      if (this.isErasing(request.owner.orgId, request.owner.userId)) {
        return { ok: false, failures: request.uploadIds.map((uploadId) => ({ uploadId, code: "ERASURE_IN_PROGRESS" as const })) };
      }
      const failures: { uploadId: string; code: ConsumeFailureCode }[] = [];
      for (const uploadId of request.uploadIds) {
        const upload = this.uploads.get(uploadId);
        let code: ConsumeFailureCode | null = null;
        if (!upload) code = "NOT_FOUND";
        else if (upload.orgId !== request.owner.orgId || upload.userId !== request.owner.userId || upload.ownerType !== request.ownerType) {
          code = "FORBIDDEN";
        } else if (upload.status === "consumed") code = "ALREADY_CONSUMED";
        else if (upload.status !== "staged" || now >= upload.deadline) code = "EXPIRED";
        if (code) failures.push({ uploadId, code });
      }
      if (failures.length > 0) return { ok: false, failures };
      let total = 0;
      request.uploadIds.forEach((uploadId, i) => {
        const upload = this.uploads.get(uploadId)!;
        const final = request.finalObjects[i]!;
        this.urlWatch.set(watchEntry(upload, final.bucket === upload.bucket && final.key === upload.key), upload.deadline);
        upload.status = "consumed";
        upload.key = final.key;
        total += upload.size;
        this.releaseInFlight(this.counters(request.owner.orgId), upload);
        this.deadlines.delete(uploadId);
        this.linked.set(linkId(final), { orgId: upload.orgId, size: upload.size });
      });
      const counters = this.counters(request.owner.orgId);
      counters.used += total;
      counters.reserved = Math.max(0, counters.reserved - total);
      for (const job of request.mediaJobs ?? []) if (job) this.mediaOutbox.set(encodeMediaJob(job), now + MEDIA_HANDOFF_GRACE_SECONDS * 1000);
      this.replays.set(request.replayKey, { value: clone(request.stored), expiresAt: now + request.replayTtlSeconds * 1000 });
      return { ok: true };
    }

    async holdForPromotion(uploadIds: string[], holdSeconds: number): Promise<HoldOutcome> {
      const now = this.clock.now();
      const failures: { uploadId: string; code: ConsumeFailureCode }[] = [];
      for (const uploadId of uploadIds) {
        const upload = this.uploads.get(uploadId);
        if (!upload) failures.push({ uploadId, code: "NOT_FOUND" });
        else if (upload.status === "consumed") failures.push({ uploadId, code: "ALREADY_CONSUMED" });
        else if (upload.status !== "staged" || now >= upload.deadline) failures.push({ uploadId, code: "EXPIRED" });
      }
      if (failures.length > 0) return { ok: false, failures };
      const heldUntil = now + holdSeconds * 1000;
      for (const uploadId of uploadIds) {
        const upload = this.uploads.get(uploadId)!;
        if (upload.deadline >= heldUntil) continue;
        upload.deadline = heldUntil;
        this.deadlines.set(uploadId, heldUntil);
      }
      return { ok: true };
    }

    async extendStaging(uploadId: string, request: { extendSeconds: number; maxLifetimeSeconds: number }): Promise<ExtendOutcome> {
      const now = this.clock.now();
      const upload = this.uploads.get(uploadId);
      if (!upload) return { ok: false, code: "NOT_FOUND" };
      if (upload.status === "consumed") return { ok: false, code: "ALREADY_CONSUMED" };
      if (upload.status !== "staged" || now >= upload.deadline) return { ok: false, code: "EXPIRED" };
      const wanted = Math.min(now + request.extendSeconds * 1000, upload.createdAt + request.maxLifetimeSeconds * 1000);
      if (wanted > upload.deadline) {
        upload.deadline = wanted;
        this.deadlines.set(uploadId, wanted);
      }
      return { ok: true, deadline: upload.deadline };
    }

    async discardStaged(uploadIds: string[], orgId: string): Promise<{ releasedBytes: number }> {
      const counters = this.counters(orgId);
      let releasedBytes = 0;
      for (const uploadId of uploadIds) {
        const upload = this.uploads.get(uploadId);
        if (upload?.status !== "staged") continue;
        counters.reserved = Math.max(0, counters.reserved - upload.size);
        releasedBytes += upload.size;
        this.releaseInFlight(counters, upload);
        this.uploads.delete(uploadId);
        this.deadlines.delete(uploadId);
        this.urlWatch.set(watchEntry(upload, false), upload.deadline);
      }
      return { releasedBytes };
    }

    async claimWatchedKeys(request: { limit: number; leaseSeconds: number }): Promise<WatchClaimOutcome> {
      const now = this.clock.now();
      const due = [...this.urlWatch.entries()].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
      const claimed: WatchClaimOutcome["claimed"] = [];
      for (const [watchId] of due.slice(0, request.limit)) {
        const [bucket, key, storageUploadId, linked] = JSON.parse(watchId) as [string, string, string, string];
        if (linked && this.linked.has(linkId({ bucket, key }))) {
          this.urlWatch.delete(watchId);
          continue;
        }
        this.urlWatch.set(watchId, now + request.leaseSeconds * 1000);
        claimed.push({ watchId, bucket, key, ...(storageUploadId ? { storageUploadId } : {}) });
      }
      const remaining = [...this.urlWatch.values()].filter((at) => at <= now).length;
      return { now, claimed, remaining };
    }

    async forgetWatchedKeys(watchIds: string[]): Promise<{ forgotten: number }> {
      let forgotten = 0;
      for (const watchId of watchIds) if (this.urlWatch.delete(watchId)) forgotten += 1;
      return { forgotten };
    }

    async claimExpired(request: { limit: number; leaseSeconds: number }): Promise<ClaimOutcome> {
      const now = this.clock.now();
      const due = [...this.deadlines.entries()].filter(([, deadline]) => deadline <= now).sort((a, b) => a[1] - b[1]);
      const claimed: StagedUpload[] = [];
      for (const [uploadId] of due.slice(0, request.limit)) {
        const upload = this.uploads.get(uploadId);
        if (!upload || upload.status === "consumed") {
          this.deadlines.delete(uploadId);
          continue;
        }
        upload.status = "claimed";
        this.deadlines.set(uploadId, now + request.leaseSeconds * 1000);
        claimed.push(clone(upload));
      }
      const overdue = [...this.deadlines.values()].filter((deadline) => deadline <= now);
      return { now, claimed, remaining: overdue.length, oldestOverdueMs: overdue.length > 0 ? now - Math.min(...overdue) : 0 };
    }

    async finaliseSwept(uploads: Pick<StagedUpload, "uploadId" | "orgId">[]): Promise<{ finalised: number; releasedBytes: number }> {
      let finalised = 0;
      let releasedBytes = 0;
      for (const { uploadId } of uploads) {
        const upload = this.uploads.get(uploadId);
        if (upload?.status !== "claimed") continue;
        upload.status = "swept";
        this.deadlines.delete(uploadId);
        if (upload.abandonedAt === undefined) {
          this.releaseReservation(upload);
          releasedBytes += upload.size;
        }
        finalised += 1;
      }
      return { finalised, releasedBytes };
    }

    async claimUrlExpired(request: { limit: number; leaseSeconds: number; settleSeconds: number }): Promise<ClaimOutcome> {
      const now = this.clock.now();
      const cutoff = now - request.settleSeconds * 1000;
      const due = [...this.urlExpiries.entries()].filter(([, expiry]) => expiry <= cutoff).sort((a, b) => a[1] - b[1]);
      const claimed: StagedUpload[] = [];
      for (const [uploadId] of due.slice(0, request.limit)) {
        const upload = this.uploads.get(uploadId);
        if (upload?.status !== "staged") {
          this.urlExpiries.delete(uploadId);
          continue;
        }
        this.urlExpiries.set(uploadId, cutoff + request.leaseSeconds * 1000);
        claimed.push(clone(upload));
      }
      const overdue = [...this.urlExpiries.values()].filter((expiry) => expiry <= cutoff);
      return { now, claimed, remaining: overdue.length, oldestOverdueMs: overdue.length > 0 ? cutoff - Math.min(...overdue) : 0 };
    }

    async settleUrlExpired(request: {
      missing: Pick<StagedUpload, "uploadId" | "orgId">[];
      present: string[];
    }): Promise<{ abandoned: number; releasedBytes: number }> {
      const now = this.clock.now();
      let abandoned = 0;
      let releasedBytes = 0;
      for (const { uploadId } of request.missing) {
        const upload = this.uploads.get(uploadId);
        if (!upload) continue;
        this.urlExpiries.delete(uploadId);
        if (upload.status !== "staged") continue;
        upload.status = "abandoned";
        upload.abandonedAt = now;
        this.releaseReservation(upload);
        abandoned += 1;
        releasedBytes += upload.size;
      }
      for (const uploadId of request.present) this.urlExpiries.delete(uploadId);
      return { abandoned, releasedBytes };
    }
  };
