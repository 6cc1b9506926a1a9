/**
 * The in-memory twin of RedisStore — staging, signature tokens, quotas and linked objects in one
 * process: the embedded default for the local stack, and the fake behind core unit tests. It keeps
 * the same semantics as the Redis scripts (the contract suites run it too); JavaScript's single
 * thread makes each method atomic as long as it never awaits mid-step.
 */
import {
  encodeMediaJob,
  MEDIA_HANDOFF_GRACE_SECONDS,
  type MediaJob,
  type MediaOutcome,
  type MediaState,
  type MediaVariants,
} from "../../media/media-variants.js";
import type { RateLimit } from "../../policies/rate-limit.js";
import type { LinkedObject, LinkedObjects, ObjectRef } from "../../quotas/linked-objects.js";
import type { QuotaLedger, QuotaUsage } from "../../quotas/quota-ledger.js";
import type { SignatureToken, SignatureTokenCheck, SignatureTokenState, SignatureTokens } from "../../signatures/signature-tokens.js";
import type {
  ClaimOutcome,
  CommitConsumeOutcome,
  CommitConsumeRequest,
  ConsumeFailureCode,
  ConsumeSnapshot,
  StageOutcome,
  StageRequest,
  StagingStore,
  StoredConsume,
} from "../../staging/staging-store.js";
import { type Clock, systemClock } from "../../time/clock.js";
import type { StagedUpload } from "../../uploads/upload.js";

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

interface QuotaCounters {
  used: number;
  reserved: number;
  quota?: number;
}

const clone = <T>(value: T): T => structuredClone(value);

const linkId = (o: ObjectRef): string => `${o.bucket}\u0000${o.key}`;

const variantBytesOf = (outcome: MediaOutcome): number =>
  outcome.status === "ready" ? Object.values(outcome.variants).reduce((sum, v) => sum + v.size, 0) : 0;

export class MemoryStore implements StagingStore, SignatureTokens, QuotaLedger, LinkedObjects, MediaVariants {
  readonly uploads = new Map<string, StagedUpload>();
  /** uploadId → deadline: the sweeper's work list. */
  readonly deadlines = new Map<string, number>();
  readonly quotas = new Map<string, QuotaCounters>();
  readonly linked = new Map<string, LinkedObject>();
  /** Recorded processing outcomes, by link id (deleted with the link). */
  readonly media = new Map<string, MediaOutcome>();
  /** The media outbox: job JSON → when it is due (re-)delivery. */
  readonly mediaOutbox = new Map<string, number>();
  private readonly replays = new Map<string, Expiring<StoredConsume>>();
  private readonly rateWindows = new Map<string, number[]>();
  private readonly tokens = new Map<string, SignatureToken>();

  constructor(private readonly clock: Clock = systemClock) {}

  private live<T>(map: Map<string, Expiring<T>>, key: string, now: number): T | null {
    const entry = map.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= now) {
      map.delete(key);
      return null;
    }
    return entry.value;
  }

  /** The subject's sliding window (pruned to now) and, when full, how long until a slot frees. */
  private rateWindow(rate: RateLimit, now: number): { window: number[]; retryAfterSeconds: number | null } {
    const windowMs = rate.windowSeconds * 1000;
    const window = (this.rateWindows.get(rate.subject) ?? []).filter((t) => t > now - windowMs);
    this.rateWindows.set(rate.subject, window);
    const full = window.length >= rate.limit;
    return { window, retryAfterSeconds: full ? Math.max(1, Math.ceil((window[0]! + windowMs - now) / 1000)) : null };
  }

  protected counters(orgId: string): QuotaCounters {
    let counters = this.quotas.get(orgId);
    if (!counters) {
      counters = { used: 0, reserved: 0 };
      this.quotas.set(orgId, counters);
    }
    return counters;
  }

  async stage(request: StageRequest): Promise<StageOutcome> {
    const now = this.clock.now();
    const rate = request.rateLimit ? this.rateWindow(request.rateLimit, now) : null;
    if (rate?.retryAfterSeconds) return { ok: false, reason: "rate_limited", retryAfterSeconds: rate.retryAfterSeconds };
    const counters = this.counters(request.quota.orgId);
    const quota = counters.quota ?? request.quota.defaultQuotaBytes;
    const total = request.uploads.reduce((sum, u) => sum + u.size, 0);
    if (counters.used + counters.reserved + total > quota) {
      return { ok: false, reason: "quota_exceeded", remainingBytes: Math.max(0, quota - counters.used - counters.reserved) };
    }
    counters.reserved += total;
    const deadline = now + request.lifetimeSeconds * 1000;
    for (const upload of request.uploads) {
      this.uploads.set(upload.uploadId, { ...clone(upload), status: "staged", deadline, createdAt: now });
      this.deadlines.set(upload.uploadId, deadline);
    }
    rate?.window.push(now);
    return { ok: true, now };
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
      upload.status = "consumed";
      upload.key = final.key;
      total += upload.size;
      this.deadlines.delete(uploadId);
      this.linked.set(`${final.bucket}\u0000${final.key}`, { orgId: upload.orgId, size: upload.size });
    });
    const counters = this.counters(request.owner.orgId);
    counters.used += total;
    counters.reserved = Math.max(0, counters.reserved - total);
    for (const job of request.mediaJobs ?? []) if (job) this.mediaOutbox.set(encodeMediaJob(job), now + MEDIA_HANDOFF_GRACE_SECONDS * 1000);
    this.replays.set(request.replayKey, { value: clone(request.stored), expiresAt: now + request.replayTtlSeconds * 1000 });
    return { ok: true };
  }

  async discardStaged(uploadIds: string[], orgId: string): Promise<void> {
    let total = 0;
    for (const uploadId of uploadIds) {
      const upload = this.uploads.get(uploadId);
      if (upload?.status !== "staged") continue;
      total += upload.size;
      this.uploads.delete(uploadId);
      this.deadlines.delete(uploadId);
    }
    const counters = this.counters(orgId);
    counters.reserved = Math.max(0, counters.reserved - total);
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
      const counters = this.counters(upload.orgId);
      counters.reserved = Math.max(0, counters.reserved - upload.size);
      finalised += 1;
      releasedBytes += upload.size;
    }
    return { finalised, releasedBytes };
  }

  async putSignatureToken(token: Omit<SignatureToken, "expiresAt" | "uploadId">, ttlSeconds: number): Promise<{ expiresAt: number }> {
    const expiresAt = this.clock.now() + ttlSeconds * 1000;
    this.tokens.set(token.tokenHash, { ...clone(token), expiresAt });
    return { expiresAt };
  }

  private tokenState(token: SignatureToken | undefined, now: number): SignatureTokenState {
    if (!token) return "unknown";
    const expired = now >= token.expiresAt;
    if (token.uploadId) return expired ? "unknown" : "used";
    return expired ? "expired" : "valid";
  }

  async checkSignatureToken(tokenHash: string, rateLimit: RateLimit): Promise<SignatureTokenCheck> {
    const now = this.clock.now();
    const rate = this.rateWindow(rateLimit, now);
    if (rate.retryAfterSeconds) return { state: "rate_limited" as const, retryAfterSeconds: rate.retryAfterSeconds };
    rate.window.push(now);
    const token = this.tokens.get(tokenHash);
    return { state: this.tokenState(token, now), token: token ? clone(token) : null };
  }

  async useSignatureToken(tokenHash: string, uploadId: string): Promise<{ state: SignatureTokenState }> {
    const token = this.tokens.get(tokenHash);
    const state = this.tokenState(token, this.clock.now());
    if (state === "valid") token!.uploadId = uploadId;
    return { state };
  }

  async linkedObjects(objects: ObjectRef[]): Promise<(LinkedObject | null)[]> {
    return objects.map((o) => {
      const linked = this.linked.get(linkId(o));
      if (!linked) return null;
      const media = this.media.get(linkId(o));
      return media?.status === "ready" ? { ...clone(linked), variantKeys: Object.values(media.variants).map((v) => v.key) } : clone(linked);
    });
  }

  async unlinkObjects(orgId: string, objects: ObjectRef[]): Promise<{ released: number; bytes: number }> {
    let released = 0;
    let bytes = 0;
    for (const o of objects) {
      const id = linkId(o);
      const linked = this.linked.get(id);
      if (linked?.orgId !== orgId) continue;
      const media = this.media.get(id);
      this.linked.delete(id);
      this.media.delete(id);
      released += 1;
      bytes += linked.size + (media ? variantBytesOf(media) : 0);
    }
    const counters = this.counters(orgId);
    counters.used = Math.max(0, counters.used - bytes);
    return { released, bytes };
  }

  async setQuota(orgId: string, quotaBytes: number): Promise<void> {
    this.counters(orgId).quota = quotaBytes;
  }

  async setUsed(orgId: string, usedBytes: number): Promise<void> {
    this.counters(orgId).used = usedBytes;
  }

  async usage(orgId: string, defaultQuotaBytes: number): Promise<QuotaUsage> {
    const { used, reserved, quota } = this.counters(orgId);
    return { used, reserved, quota: quota ?? defaultQuotaBytes };
  }

  async mediaStates(objects: ObjectRef[]): Promise<(MediaState | null)[]> {
    return objects.map((o) => {
      if (!this.linked.has(linkId(o))) return null;
      return clone(this.media.get(linkId(o)) ?? { status: "processing" as const });
    });
  }

  async recordMedia(object: ObjectRef & { orgId: string }, outcome: MediaOutcome): Promise<{ linked: boolean; recorded: boolean }> {
    const id = linkId(object);
    if (this.linked.get(id)?.orgId !== object.orgId) return { linked: false, recorded: false };
    if (this.media.has(id)) return { linked: true, recorded: false };
    this.media.set(id, clone(outcome));
    this.counters(object.orgId).used += variantBytesOf(outcome);
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
}
