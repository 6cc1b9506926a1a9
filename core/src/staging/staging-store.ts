/**
 * The staging port: the Redis-side state of a staged upload, from stage through consume or sweep.
 * Every method is one atomic step with one round trip, and uses the store's own clock (Redis
 * server time), never the caller's. Its steps also move bytes between the quota counters
 * (`QuotaLedger`) and link consumed objects (`LinkedObjects`), atomically with the records.
 */
import type { MediaJob } from "../media/media-variants.js";
import type { OwnerType } from "../policies/owner-types.js";
import type { RateLimit } from "../policies/rate-limit.js";
import type { NewUpload, StagedUpload } from "../uploads/upload.js";

export interface StageRequest {
  uploads: NewUpload[];
  /** Time from now until the deadline: the PUT URL's lifetime plus the staging grace. */
  lifetimeSeconds: number;
  /** Quota of the org (all uploads in a request share one org). */
  quota: { orgId: string; defaultQuotaBytes: number };
  /** Optional sliding-window rate limit, counted only when the request is staged. */
  rateLimit?: RateLimit;
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
  /**
   * One per upload (null = not processed): written to the media outbox in the same atomic step,
   * due for the sweeper's re-drive after MEDIA_HANDOFF_GRACE_SECONDS. Absent = none.
   */
  mediaJobs?: (MediaJob | null)[];
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
}
