/**
 * The staging area on Redis (staging-scripts.ts; its in-memory twin is memory/memory-staging.ts):
 * the life of an upload — stage, consume, extend, discard, the sweeper's and the early release's
 * work lists and the URL watch. Its scripts reserve in the quota hash and write the linked markers
 * the other areas read, in the same atomic step.
 */
import { randomUUID } from "node:crypto";
import { encodeMediaJob, MEDIA_HANDOFF_GRACE_SECONDS } from "../../media/media-variants.js";
import type {
  ClaimOutcome,
  CommitConsumeOutcome,
  CommitConsumeRequest,
  ConsumeFailureCode,
  ConsumeSnapshot,
  ExtendOutcome,
  HoldOutcome,
  QuotaLimit,
  StageOutcome,
  StageRequest,
  StagingStore,
  StoredConsume,
  StoredReply,
  WatchClaimOutcome,
  WatchedKey,
} from "../../staging/staging-store.js";
import type { StagedUpload } from "../../uploads/upload.js";
import { listOf, type RedisAreaBase } from "./redis-area.js";
import { redisKeys } from "./redis-keys.js";
import * as scripts from "./staging-scripts.js";

/** How long a consumed record stays to answer ALREADY_CONSUMED (the object itself is linked for good). */
const CONSUMED_RECORD_TTL_SECONDS = 30 * 24 * 3600;
/** How long a swept record stays to answer EXPIRED rather than NOT_FOUND. */
const SWEPT_RECORD_TTL_SECONDS = 7 * 24 * 3600;

const parseUpload = (raw: string): StagedUpload | null => (raw === "" ? null : (JSON.parse(raw) as StagedUpload));
const parseStored = (raw: string): StoredConsume | null => (raw === "" ? null : (JSON.parse(raw) as StoredConsume));

/** A URL-watch member (staging-scripts.ts, `URL_WATCH`): `[bucket, key, storageUploadId, linkedKey]`. */
const parseWatchedKey = (member: string): WatchedKey => {
  const [bucket, key, storageUploadId] = JSON.parse(member) as [string, string, string, string];
  return { watchId: member, bucket, key, ...(storageUploadId ? { storageUploadId } : {}) };
};

/** claim_expired's and claim_url_expired's reply (`claimReply` in staging-scripts.ts). */
interface ClaimReply {
  now: number;
  claimed: string[] | Record<string, never>;
  remaining: number;
  oldestOverdueMs: number;
}

const claimOutcome = (reply: ClaimReply): ClaimOutcome => ({
  now: reply.now,
  claimed: listOf(reply.claimed).map((raw) => JSON.parse(raw) as StagedUpload),
  remaining: reply.remaining,
  oldestOverdueMs: reply.oldestOverdueMs,
});

export const RedisStaging = <B extends RedisAreaBase>(Base: B) =>
  class RedisStaging extends Base implements Omit<StagingStore, "attachMultipart"> {
    async stage(request: StageRequest): Promise<StageOutcome> {
      const rate = request.rateLimit;
      const replay = request.replay;
      const reply = await this.run<
        | { ok: true; now: number; replayed?: string }
        | { ok: false; reason: "quota_exceeded"; limit: QuotaLimit; limitBytes: number; remainingBytes: number }
        | { ok: false; reason: "rate_limited"; retryAfterMs: number }
      >(
        scripts.STAGE,
        [
          redisKeys.deadlines(),
          redisKeys.quota(request.quota.orgId),
          redisKeys.rateLimit(rate?.subject ?? "none"),
          redisKeys.presignReplay(replay?.key ?? "none"),
          redisKeys.urlExpiries(),
          ...request.uploads.map((u) => redisKeys.upload(u.uploadId)),
        ],
        [
          String(request.lifetimeSeconds * 1000),
          String(request.quota.defaultQuotaBytes),
          String(rate?.limit ?? 0),
          String((rate?.windowSeconds ?? 0) * 1000),
          randomUUID(),
          String(request.quota.userInFlightBytes ?? 0),
          String((request.urlLifetimeSeconds ?? 0) * 1000),
          replay ? JSON.stringify(replay.stored) : "",
          String((replay?.ttlSeconds ?? 0) * 1000),
          ...request.uploads.map((u) => JSON.stringify(u)),
        ],
      );
      if (reply.ok) return reply.replayed ? { ok: true, now: reply.now, replayed: JSON.parse(reply.replayed) as StoredReply } : { ok: true, now: reply.now };
      if (reply.reason === "rate_limited") {
        return { ok: false, reason: "rate_limited", retryAfterSeconds: Math.max(1, Math.ceil(reply.retryAfterMs / 1000)) };
      }
      return reply;
    }

    async uploadRecords(uploadIds: string[]): Promise<(StagedUpload | null)[]> {
      if (uploadIds.length === 0) return [];
      const reply = await this.run<string[] | Record<string, never>>(scripts.READ_UPLOADS, uploadIds.map(redisKeys.upload), []);
      return listOf(reply).map(parseUpload);
    }

    async loadForConsume(uploadIds: string[], replayKey: string): Promise<ConsumeSnapshot> {
      const reply = await this.run<{ now: number; replay: string; records: string[] | Record<string, never> }>(
        scripts.LOAD_FOR_CONSUME,
        [redisKeys.consumeReplay(replayKey), ...uploadIds.map(redisKeys.upload)],
        [],
      );
      return { now: reply.now, replay: parseStored(reply.replay), uploads: listOf(reply.records).map(parseUpload) };
    }

    async commitConsume(request: CommitConsumeRequest): Promise<CommitConsumeOutcome> {
      const reply = await this.run<{ ok: true } | { ok: false; replay: string } | { ok: false; failures: { index: number; code: ConsumeFailureCode }[] }>(
        scripts.COMMIT_CONSUME,
        [
          redisKeys.consumeReplay(request.replayKey),
          redisKeys.deadlines(),
          redisKeys.quota(request.owner.orgId),
          ...request.uploadIds.map(redisKeys.upload),
          ...request.finalObjects.map((o) => redisKeys.linked(o.bucket, o.key)),
          redisKeys.mediaOutbox(),
          redisKeys.urlWatch(),
        ],
        [
          request.owner.orgId,
          request.owner.userId ?? "",
          request.ownerType,
          JSON.stringify(request.stored),
          String(request.replayTtlSeconds),
          String(CONSUMED_RECORD_TTL_SECONDS),
          ...request.finalObjects.map((o) => o.key),
          ...request.uploadIds.map((_, i) => {
            const job = request.mediaJobs?.[i];
            return job ? encodeMediaJob(job) : "";
          }),
          String(MEDIA_HANDOFF_GRACE_SECONDS * 1000),
        ],
      );
      if (reply.ok) return reply;
      if ("replay" in reply) return { ok: false, replay: JSON.parse(reply.replay) as StoredConsume };
      return {
        ok: false,
        failures: reply.failures.map((f) => ({ uploadId: request.uploadIds[f.index - 1]!, code: f.code })),
      };
    }

    async holdForPromotion(uploadIds: string[], holdSeconds: number): Promise<HoldOutcome> {
      const reply = await this.run<{ ok: true } | { ok: false; failures: { index: number; code: ConsumeFailureCode }[] }>(
        scripts.HOLD_FOR_PROMOTION,
        [redisKeys.deadlines(), ...uploadIds.map(redisKeys.upload)],
        [String(holdSeconds * 1000)],
      );
      if (reply.ok) return reply;
      return { ok: false, failures: reply.failures.map((f) => ({ uploadId: uploadIds[f.index - 1]!, code: f.code })) };
    }

    async extendStaging(uploadId: string, request: { extendSeconds: number; maxLifetimeSeconds: number }): Promise<ExtendOutcome> {
      return this.run<ExtendOutcome>(
        scripts.EXTEND_STAGING,
        [redisKeys.deadlines(), redisKeys.upload(uploadId)],
        [String(request.extendSeconds * 1000), String(request.maxLifetimeSeconds * 1000)],
      );
    }

    async discardStaged(uploadIds: string[], orgId: string): Promise<{ releasedBytes: number }> {
      if (uploadIds.length === 0) return { releasedBytes: 0 };
      const reply = await this.run<{ released: number }>(
        scripts.DISCARD_STAGED,
        [redisKeys.deadlines(), redisKeys.quota(orgId), redisKeys.urlWatch(), ...uploadIds.map(redisKeys.upload)],
        [],
      );
      return { releasedBytes: reply.released };
    }

    async claimWatchedKeys(request: { limit: number; leaseSeconds: number }): Promise<WatchClaimOutcome> {
      const reply = await this.run<{ now: number; claimed: string[] | Record<string, never>; remaining: number }>(
        scripts.CLAIM_WATCHED_KEYS,
        [redisKeys.urlWatch()],
        [String(request.limit), String(request.leaseSeconds * 1000)],
      );
      return { now: reply.now, claimed: listOf(reply.claimed).map(parseWatchedKey), remaining: reply.remaining };
    }

    async forgetWatchedKeys(watchIds: string[]): Promise<{ forgotten: number }> {
      if (watchIds.length === 0) return { forgotten: 0 };
      return this.run(scripts.FORGET_WATCHED_KEYS, [redisKeys.urlWatch()], watchIds);
    }

    async claimExpired(request: { limit: number; leaseSeconds: number }): Promise<ClaimOutcome> {
      const reply = await this.run<ClaimReply>(
        scripts.CLAIM_EXPIRED,
        [redisKeys.deadlines()],
        [String(request.limit), String(request.leaseSeconds * 1000), redisKeys.uploadPrefix()],
      );
      return claimOutcome(reply);
    }

    async finaliseSwept(uploads: Pick<StagedUpload, "uploadId" | "orgId">[]): Promise<{ finalised: number; releasedBytes: number }> {
      if (uploads.length === 0) return { finalised: 0, releasedBytes: 0 };
      return this.run(
        scripts.FINALISE_SWEPT,
        [redisKeys.deadlines(), ...uploads.map((u) => redisKeys.upload(u.uploadId)), ...uploads.map((u) => redisKeys.quota(u.orgId))],
        [String(SWEPT_RECORD_TTL_SECONDS)],
      );
    }

    async claimUrlExpired(request: { limit: number; leaseSeconds: number; settleSeconds: number }): Promise<ClaimOutcome> {
      const reply = await this.run<ClaimReply>(
        scripts.CLAIM_URL_EXPIRED,
        [redisKeys.urlExpiries()],
        [String(request.limit), String(request.leaseSeconds * 1000), String(request.settleSeconds * 1000), redisKeys.uploadPrefix()],
      );
      return claimOutcome(reply);
    }

    async settleUrlExpired(request: {
      missing: Pick<StagedUpload, "uploadId" | "orgId">[];
      present: string[];
    }): Promise<{ abandoned: number; releasedBytes: number }> {
      if (request.missing.length === 0 && request.present.length === 0) return { abandoned: 0, releasedBytes: 0 };
      return this.run(
        scripts.SETTLE_URL_EXPIRED,
        [redisKeys.urlExpiries(), ...request.missing.map((u) => redisKeys.upload(u.uploadId)), ...request.missing.map((u) => redisKeys.quota(u.orgId))],
        request.present,
      );
    }
  };
