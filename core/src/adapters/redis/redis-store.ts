/**
 * Staging, signature tokens, quotas, linked objects, media variants and published media on Redis,
 * shared by the ioredis and Upstash drivers. One class implements the six ports because their Lua scripts (scripts.ts) span each
 * other's keys atomically (stage reserves quota, commitConsume links objects); this class only
 * lays out keys and arguments and decodes replies.
 */
import { randomUUID } from "node:crypto";
import {
  encodeMediaJob,
  MEDIA_HANDOFF_GRACE_SECONDS,
  type MediaJob,
  type MediaOutcome,
  type MediaState,
  type MediaVariants,
} from "../../media/media-variants.js";
import type { RateLimit } from "../../policies/rate-limit.js";
import { type PublishedItem, type PublishedMedia, publishedBytesOf } from "../../publishing/published-media.js";
import type { LinkedObject, LinkedObjects, ObjectRef } from "../../quotas/linked-objects.js";
import type { QuotaLedger, QuotaUsage } from "../../quotas/quota-ledger.js";
import type { PendingSignatureUpload, SignatureToken, SignatureTokenCheck, SignatureTokenState, SignatureTokens } from "../../signatures/signature-tokens.js";
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
import type { MultipartPlan, StagedUpload } from "../../uploads/upload.js";
import type { LuaScript, RedisScriptDriver } from "./driver.js";
import { redisKeys } from "./redis-keys.js";
import * as scripts from "./scripts.js";

/** How long a consumed record stays to answer ALREADY_CONSUMED (the object itself is linked for good). */
const CONSUMED_RECORD_TTL_SECONDS = 30 * 24 * 3600;
/** An unused token that expired answers EXPIRED this long before it becomes unknown. */
export const EXPIRED_TOKEN_KEPT_SECONDS = 7 * 24 * 3600;
/** How long a swept record stays to answer EXPIRED rather than NOT_FOUND. */
const SWEPT_RECORD_TTL_SECONDS = 7 * 24 * 3600;

const parseUpload = (raw: string): StagedUpload | null => (raw === "" ? null : (JSON.parse(raw) as StagedUpload));
const parseStored = (raw: string): StoredConsume | null => (raw === "" ? null : (JSON.parse(raw) as StoredConsume));

/** A URL-watch member (scripts.ts, `URL_WATCH`): `[bucket, key, storageUploadId, linkedKey]`. */
const parseWatchedKey = (member: string): WatchedKey => {
  const [bucket, key, storageUploadId] = JSON.parse(member) as [string, string, string, string];
  return { watchId: member, bucket, key, ...(storageUploadId ? { storageUploadId } : {}) };
};

/** A link as stored by commit_consume, with the outcome record_media added. */
interface StoredLink {
  orgId: string;
  size: number;
  media?: MediaOutcome & { variantBytes?: number };
}

const variantKeysOf = (media: StoredLink["media"]): string[] => (media?.status === "ready" ? Object.values(media.variants).map((v) => v.key) : []);

export class RedisStore implements StagingStore, SignatureTokens, QuotaLedger, LinkedObjects, MediaVariants, PublishedMedia {
  /** `redis`: also the driver of the ports kept beside this one on the same Redis (RedisErasures). */
  constructor(readonly redis: RedisScriptDriver) {}

  private async run<T>(script: LuaScript, keys: string[], args: string[]): Promise<T> {
    const reply = await this.redis.run(script, keys, args);
    return JSON.parse(String(reply)) as T;
  }

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
    return (Array.isArray(reply) ? reply : []).map(parseUpload);
  }

  async loadForConsume(uploadIds: string[], replayKey: string): Promise<ConsumeSnapshot> {
    const reply = await this.run<{ now: number; replay: string; records: string[] | Record<string, never> }>(
      scripts.LOAD_FOR_CONSUME,
      [redisKeys.consumeReplay(replayKey), ...uploadIds.map(redisKeys.upload)],
      [],
    );
    const records = Array.isArray(reply.records) ? reply.records : [];
    return { now: reply.now, replay: parseStored(reply.replay), uploads: records.map(parseUpload) };
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

  async attachMultipart(uploads: { uploadId: string; multipart: MultipartPlan }[]): Promise<{ attached: string[] }> {
    if (uploads.length === 0) return { attached: [] };
    const reply = await this.run<{ attached: number[] | Record<string, never> }>(
      scripts.ATTACH_MULTIPART,
      uploads.map((u) => redisKeys.upload(u.uploadId)),
      uploads.map((u) => JSON.stringify(u.multipart)),
    );
    return { attached: (Array.isArray(reply.attached) ? reply.attached : []).map((i) => uploads[i - 1]!.uploadId) };
  }

  async claimWatchedKeys(request: { limit: number; leaseSeconds: number }): Promise<WatchClaimOutcome> {
    const reply = await this.run<{ now: number; claimed: string[] | Record<string, never>; remaining: number }>(
      scripts.CLAIM_WATCHED_KEYS,
      [redisKeys.urlWatch()],
      [String(request.limit), String(request.leaseSeconds * 1000)],
    );
    const claimed = Array.isArray(reply.claimed) ? reply.claimed : [];
    return { now: reply.now, claimed: claimed.map(parseWatchedKey), remaining: reply.remaining };
  }

  async forgetWatchedKeys(watchIds: string[]): Promise<{ forgotten: number }> {
    if (watchIds.length === 0) return { forgotten: 0 };
    return this.run(scripts.FORGET_WATCHED_KEYS, [redisKeys.urlWatch()], watchIds);
  }

  async claimExpired(request: { limit: number; leaseSeconds: number }): Promise<ClaimOutcome> {
    const reply = await this.run<{ now: number; claimed: string[] | Record<string, never>; remaining: number; oldestOverdueMs: number }>(
      scripts.CLAIM_EXPIRED,
      [redisKeys.deadlines()],
      [String(request.limit), String(request.leaseSeconds * 1000), redisKeys.uploadPrefix()],
    );
    const claimed = Array.isArray(reply.claimed) ? reply.claimed : [];
    return {
      now: reply.now,
      claimed: claimed.map((raw) => JSON.parse(raw) as StagedUpload),
      remaining: reply.remaining,
      oldestOverdueMs: reply.oldestOverdueMs,
    };
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
    const reply = await this.run<{ now: number; claimed: string[] | Record<string, never>; remaining: number; oldestOverdueMs: number }>(
      scripts.CLAIM_URL_EXPIRED,
      [redisKeys.urlExpiries()],
      [String(request.limit), String(request.leaseSeconds * 1000), String(request.settleSeconds * 1000), redisKeys.uploadPrefix()],
    );
    const claimed = Array.isArray(reply.claimed) ? reply.claimed : [];
    return {
      now: reply.now,
      claimed: claimed.map((raw) => JSON.parse(raw) as StagedUpload),
      remaining: reply.remaining,
      oldestOverdueMs: reply.oldestOverdueMs,
    };
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

  async putSignatureToken(token: Omit<SignatureToken, "expiresAt" | "uploadId">, ttlSeconds: number): Promise<{ expiresAt: number }> {
    return this.run(
      scripts.PUT_SIGNATURE_TOKEN,
      [redisKeys.signatureToken(token.tokenHash)],
      [JSON.stringify(token), String(ttlSeconds * 1000), String(EXPIRED_TOKEN_KEPT_SECONDS * 1000)],
    );
  }

  async checkSignatureToken(tokenHash: string, rateLimit: RateLimit): Promise<SignatureTokenCheck> {
    const reply = await this.run<{ state: "rate_limited"; retryAfterMs: number } | { state: SignatureTokenState; token: string }>(
      scripts.CHECK_SIGNATURE_TOKEN,
      [redisKeys.signatureToken(tokenHash), redisKeys.rateLimit(rateLimit.subject)],
      [String(rateLimit.limit), String(rateLimit.windowSeconds * 1000), randomUUID()],
    );
    if (reply.state === "rate_limited") return { state: reply.state, retryAfterSeconds: Math.max(1, Math.ceil(reply.retryAfterMs / 1000)) };
    return { state: reply.state, token: reply.token === "" ? null : (JSON.parse(reply.token) as SignatureToken) };
  }

  async useSignatureToken(tokenHash: string, uploadId: string, options?: { pendingOnly?: boolean }): Promise<{ state: SignatureTokenState | "not_pending" }> {
    return this.run(scripts.USE_SIGNATURE_TOKEN, [redisKeys.signatureToken(tokenHash)], [uploadId, options?.pendingOnly ? "1" : "0"]);
  }

  async holdPendingUpload(
    tokenHash: string,
    pending: PendingSignatureUpload,
  ): Promise<{ state: SignatureTokenState; replaced: PendingSignatureUpload | null }> {
    const reply = await this.run<{ state: SignatureTokenState; replaced: string }>(
      scripts.HOLD_PENDING_UPLOAD,
      [redisKeys.signatureToken(tokenHash)],
      [JSON.stringify(pending)],
    );
    return { state: reply.state, replaced: reply.replaced === "" ? null : (JSON.parse(reply.replaced) as PendingSignatureUpload) };
  }

  async dropPendingUpload(tokenHash: string, uploadId: string): Promise<{ dropped: boolean }> {
    return this.run(scripts.DROP_PENDING_UPLOAD, [redisKeys.signatureToken(tokenHash)], [uploadId]);
  }

  async linkedObjects(objects: ObjectRef[]): Promise<(LinkedObject | null)[]> {
    if (objects.length === 0) return [];
    const values = await this.run<string[]>(
      scripts.GET_MANY,
      objects.map((o) => redisKeys.linked(o.bucket, o.key)),
      [],
    );
    return values.map((v) => {
      if (v === "") return null;
      const { orgId, size, media } = JSON.parse(v) as StoredLink;
      const variantKeys = variantKeysOf(media);
      return variantKeys.length > 0 ? { orgId, size, variantKeys } : { orgId, size };
    });
  }

  async unlinkObjects(orgId: string, objects: ObjectRef[]): Promise<{ released: number; bytes: number }> {
    return this.run(scripts.UNLINK_OBJECTS, [redisKeys.quota(orgId), ...objects.map((o) => redisKeys.linked(o.bucket, o.key))], [orgId]);
  }

  async setQuota(orgId: string, quotaBytes: number): Promise<void> {
    await this.run(scripts.SET_QUOTA_FIELD, [redisKeys.quota(orgId)], ["quota", String(quotaBytes)]);
  }

  async setUsed(orgId: string, usedBytes: number): Promise<void> {
    await this.run(scripts.SET_QUOTA_FIELD, [redisKeys.quota(orgId)], ["used", String(usedBytes)]);
  }

  async usage(orgId: string, defaultQuotaBytes: number): Promise<QuotaUsage> {
    return this.run<QuotaUsage>(scripts.USAGE, [redisKeys.quota(orgId)], [String(defaultQuotaBytes)]);
  }

  async inFlightByUser(orgId: string): Promise<Record<string, number>> {
    // An empty Lua table encodes as `{}` — an empty record, as wanted.
    return this.run(scripts.IN_FLIGHT_BY_USER, [redisKeys.quota(orgId)], []);
  }

  async mediaStates(objects: ObjectRef[]): Promise<(MediaState | null)[]> {
    if (objects.length === 0) return [];
    const values = await this.run<string[]>(
      scripts.GET_MANY,
      objects.map((o) => redisKeys.linked(o.bucket, o.key)),
      [],
    );
    return values.map((v) => {
      if (v === "") return null;
      const { media } = JSON.parse(v) as StoredLink;
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
    return (Array.isArray(reply.jobs) ? reply.jobs : []).map((raw) => JSON.parse(raw) as MediaJob);
  }

  async ackMediaJobs(jobs: MediaJob[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.run(scripts.ACK_MEDIA_JOBS, [redisKeys.mediaOutbox()], jobs.map(encodeMediaJob));
  }

  async publishedItem(orgId: string, key: string): Promise<PublishedItem | null> {
    const reply = await this.run<{ items: string[] | Record<string, never> }>(scripts.GET_PUBLISHED, [redisKeys.published(orgId)], [key]);
    const raw = Array.isArray(reply.items) ? reply.items[0] : undefined;
    return raw ? (JSON.parse(raw) as PublishedItem) : null;
  }

  async publishedItems(orgId: string): Promise<PublishedItem[]> {
    const reply = await this.run<{ items: string[] | Record<string, never> }>(scripts.GET_PUBLISHED, [redisKeys.published(orgId)], [""]);
    const items = (Array.isArray(reply.items) ? reply.items : []).map((raw) => JSON.parse(raw) as PublishedItem);
    return items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async recordPublished(
    object: ObjectRef & { orgId: string },
    item: PublishedItem,
  ): Promise<{ linked: boolean; recorded: boolean; item: PublishedItem | null }> {
    const reply = await this.run<{ linked: boolean; recorded: boolean; item: string }>(
      scripts.RECORD_PUBLISHED,
      [redisKeys.published(object.orgId), redisKeys.linked(object.bucket, object.key), redisKeys.quota(object.orgId)],
      [object.orgId, object.key, JSON.stringify(item), String(publishedBytesOf(item))],
    );
    return { linked: reply.linked, recorded: reply.recorded, item: reply.item === "" ? null : (JSON.parse(reply.item) as PublishedItem) };
  }

  async removePublished(orgId: string, key: string): Promise<PublishedItem | null> {
    const reply = await this.run<{ item: string }>(scripts.REMOVE_PUBLISHED, [redisKeys.published(orgId), redisKeys.quota(orgId)], [key]);
    return reply.item === "" ? null : (JSON.parse(reply.item) as PublishedItem);
  }

  async scheduleMediaJobs(jobs: MediaJob[]): Promise<{ scheduled: number }> {
    if (jobs.length === 0) return { scheduled: 0 };
    return this.run(
      scripts.SCHEDULE_MEDIA_JOBS,
      [redisKeys.mediaOutbox(), ...jobs.map((job) => redisKeys.linked(job.bucket, job.key))],
      jobs.map(encodeMediaJob),
    );
  }
}
