/**
 * The staging port: the Redis-side state of the staged upload (docs/ARCHITECTURE.md, "The Redis data model").
 * Every method is one atomic step with one round trip, and uses the store's own clock (Redis
 * server time), never the caller's.
 */
import type { OwnerType } from "../policies/owner-types.js";

/** "swept": its object was deleted; the record stays a while so a late consume is told EXPIRED. */
export type UploadStatus = "staged" | "claimed" | "consumed" | "swept";

/** What presign writes for each upload. */
export interface NewUpload {
  uploadId: string;
  ownerType: OwnerType;
  orgId: string;
  /** The uploading user; null for uploads owned by the organisation (form signatures). */
  userId: string | null;
  bucket: string;
  key: string;
  contentType: string;
  size: number;
  sha256?: string;
  fileName?: string;
  /** Free-form, server-made metadata (e.g. form and submission of a signature). */
  meta?: Record<string, string>;
}

export interface StagedUpload extends NewUpload {
  status: UploadStatus;
  /** Store time (ms) after which the upload can no longer be consumed and is swept. */
  deadline: number;
  createdAt: number;
}

export interface StageRequest {
  uploads: NewUpload[];
  /** Time from now until the deadline: the PUT URL's lifetime plus the staging grace. */
  lifetimeSeconds: number;
  /** Quota of the org (all uploads in a request share one org). */
  quota: { orgId: string; defaultQuotaBytes: number };
  /** Optional sliding-window rate limit, counted only when the request is staged. */
  rateLimit?: RateLimit;
}

export interface RateLimit {
  /** Server-made identity of the limited subject (e.g. "presign:user_123"); hashed into a key. */
  subject: string;
  limit: number;
  windowSeconds: number;
}

export type StageOutcome =
  | { ok: true; now: number }
  | { ok: false; reason: "quota_exceeded"; remainingBytes: number }
  | { ok: false; reason: "rate_limited"; retryAfterSeconds: number };

export interface ConsumeSnapshot {
  now: number;
  /** The stored reply of an earlier consume under the same idempotency key, if any. */
  replay: StoredConsume | null;
  /** One entry per requested id, in order; null when unknown. */
  uploads: (StagedUpload | null)[];
}

export interface StoredConsume {
  /** Identifies the request (ids, owner, owner type) that produced the reply. */
  fingerprint: string;
  /** The reply as JSON. */
  response: string;
}

export type ConsumeFailureCode = "NOT_FOUND" | "FORBIDDEN" | "ALREADY_CONSUMED" | "EXPIRED";

export interface CommitConsumeRequest {
  uploadIds: string[];
  owner: { orgId: string; userId: string | null };
  ownerType: OwnerType;
  /** Server-made (hashed) idempotency key. */
  replayKey: string;
  stored: StoredConsume;
  replayTtlSeconds: number;
  /** Where each upload's object ends up (differs from the staged key after promotion). */
  finalObjects: { bucket: string; key: string }[];
}

export type CommitConsumeOutcome =
  | { ok: true }
  | { ok: false; replay: StoredConsume }
  | { ok: false; failures: { uploadId: string; code: ConsumeFailureCode }[] };

export interface ClaimOutcome {
  now: number;
  /** Uploads now claimed by this run (status "claimed", leased until now + lease). */
  claimed: StagedUpload[];
  /** Overdue uploads still on the work list after this claim (claimed ones excluded). */
  remaining: number;
  /** Age of the oldest overdue entry still listed, in ms (0 when none). */
  oldestOverdueMs: number;
}

export interface SignatureToken {
  /** SHA-256 (hex) of the token; the token itself is never stored. */
  tokenHash: string;
  orgId: string;
  formId: string;
  submissionId: string;
  /** Store time (ms) after which the token no longer works. */
  expiresAt: number;
  /** Set once the token has been used for an upload. */
  uploadId?: string;
}

export type SignatureTokenState = "unknown" | "expired" | "used" | "valid";

export interface QuotaUsage {
  used: number;
  reserved: number;
  quota: number;
}

export interface StagingStore {
  /** Reserves quota, counts the rate limit and writes every record and work-list entry — or nothing. */
  stage(request: StageRequest): Promise<StageOutcome>;
  /** Reads what consume needs to pre-check, in one round trip. */
  loadForConsume(uploadIds: string[], replayKey: string): Promise<ConsumeSnapshot>;
  /**
   * Re-checks every upload (staged, owned, of the type, before its deadline) and marks all consumed,
   * settles their quota and stores the reply for replay — all or nothing.
   */
  commitConsume(request: CommitConsumeRequest): Promise<CommitConsumeOutcome>;
  /** Removes staged uploads that consume rejected (their objects are already deleted) and gives back their quota. */
  discardStaged(uploadIds: string[], orgId: string): Promise<void>;
  /**
   * Claims up to `limit` uploads whose deadline (or expired lease) has passed by store time: marks
   * them claimed and pushes their work-list entry to now + lease, so a crashed run's claims come
   * back to the next run. Consumed uploads are never claimed; claimed ones can no longer be consumed.
   */
  claimExpired(request: { limit: number; leaseSeconds: number }): Promise<ClaimOutcome>;
  /** Drops claimed uploads whose objects storage confirmed deleted, and gives back their reserved bytes. */
  finaliseSwept(uploads: Pick<StagedUpload, "uploadId" | "orgId">[]): Promise<{ finalised: number; releasedBytes: number }>;
  /** Stores a signature token (by hash) valid for `ttlSeconds` of store time; answers its expiry. */
  putSignatureToken(token: Omit<SignatureToken, "expiresAt" | "uploadId">, ttlSeconds: number): Promise<{ expiresAt: number }>;
  /** Reads a token's state without changing it, counting the rate limit in the same step. */
  checkSignatureToken(
    tokenHash: string,
    rateLimit: RateLimit,
  ): Promise<{ state: SignatureTokenState; token: SignatureToken | null } | { state: "rate_limited"; retryAfterSeconds: number }>;
  /** Burns a valid token for `uploadId` — exactly once, however many try at the same time. */
  useSignatureToken(tokenHash: string, uploadId: string): Promise<{ state: SignatureTokenState }>;
  /** Which of these objects are linked to a parent (consumed), with their linked size; null when not. */
  linkedObjects(objects: { bucket: string; key: string }[]): Promise<({ orgId: string; size: number } | null)[]>;
  /** Unlinks objects of `orgId` and subtracts their bytes from its `used` — each linked object once, however often released. */
  unlinkObjects(orgId: string, objects: { bucket: string; key: string }[]): Promise<{ released: number; bytes: number }>;
  /** Overrides the org's quota. */
  setQuota(orgId: string, quotaBytes: number): Promise<void>;
  /** Replaces the org's `used` counter (reconciliation). */
  setUsed(orgId: string, usedBytes: number): Promise<void>;
  /** The org's counters; `quota` is its override or the default. */
  usage(orgId: string, defaultQuotaBytes: number): Promise<QuotaUsage>;
}
