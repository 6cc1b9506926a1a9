/**
 * The staging port: the Redis-side state of a staged upload, from stage through consume or sweep.
 * Every method is one atomic step with one round trip, and uses the store's own clock (Redis
 * server time), never the caller's. Its steps also move bytes between the quota counters
 * (`QuotaLedger`) and link consumed objects (`LinkedObjects`), atomically with the records.
 */
import type { MediaJob } from "../media/media-variants.js";
import type { OwnerType } from "../policies/owner-types.js";
import type { RateLimit } from "../policies/rate-limit.js";
import type { MultipartPlan, NewUpload, StagedUpload } from "../uploads/upload.js";

export interface StageRequest {
  uploads: NewUpload[];
  /** Time from now until the deadline: the PUT URL's lifetime plus the staging grace. */
  lifetimeSeconds: number;
  /**
   * Time from now until the PUT URL expires. When given, each upload is also listed by that time,
   * so the sweeper can give back the reservation of an upload whose object never arrived.
   */
  urlLifetimeSeconds?: number;
  /**
   * Quota of the org (all uploads in a request share one org), and the cap on bytes one user may
   * hold reserved in it at once. Uploads with a `userId` always count towards their user's
   * in-flight bytes; the cap is checked when given. Org-owned uploads (no user) never count.
   */
  quota: { orgId: string; defaultQuotaBytes: number; userInFlightBytes?: number };
  /** Optional sliding-window rate limit, counting every request it lets through: staged, or refused by a quota. */
  rateLimit?: RateLimit;
  /**
   * Idempotency: a reply stored under `key` answers instead (nothing is staged or counted);
   * otherwise `stored` is kept under `key` for `ttlSeconds`, in the same atomic step.
   */
  replay?: { key: string; stored: StoredReply; ttlSeconds: number };
}

/** Which limit refused a reservation (docs/API.md, `QUOTA_EXCEEDED` details). */
export type QuotaLimit = "org_quota" | "user_in_flight";

export type StageOutcome =
  /** `replayed`: the reply stored under the request's replay key — nothing was staged. */
  | { ok: true; now: number; replayed?: StoredReply }
  /** `limitBytes`: the org's quota, or the user's cap on bytes in flight. */
  | { ok: false; reason: "quota_exceeded"; limit: QuotaLimit; limitBytes: number; remainingBytes: number }
  | { ok: false; reason: "rate_limited"; retryAfterSeconds: number }
  /** The org, or the user of one of the uploads, is being erased (core/src/erasure/): nothing staged. */
  | { ok: false; reason: "erasing" };

export interface ConsumeSnapshot {
  now: number;
  /** The stored reply of an earlier consume under the same idempotency key, if any. */
  replay: StoredConsume | null;
  /** One entry per requested id, in order; null when unknown. */
  uploads: (StagedUpload | null)[];
}

/** A reply kept for idempotent retries. */
export interface StoredReply {
  /** Identifies the request (ids, owner, owner type) that produced the reply. */
  fingerprint: string;
  /** The reply as JSON. */
  response: string;
}

export type StoredConsume = StoredReply;

/** ERASURE_IN_PROGRESS: commitConsume only, for every id, while the owner or its org is being erased. */
export type ConsumeFailureCode = "NOT_FOUND" | "FORBIDDEN" | "ALREADY_CONSUMED" | "EXPIRED" | "ERASURE_IN_PROGRESS";

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

export type ExtendOutcome = { ok: true; deadline: number } | { ok: false; code: ConsumeFailureCode };

export type HoldOutcome = { ok: true } | { ok: false; failures: { uploadId: string; code: ConsumeFailureCode }[] };

export interface ClaimOutcome {
  now: number;
  /** Uploads now claimed by this run (status "claimed", leased until now + lease). */
  claimed: StagedUpload[];
  /** Overdue uploads still on the work list after this claim (claimed ones excluded). */
  remaining: number;
  /** Age of the oldest overdue entry still listed, in ms (0 when none). */
  oldestOverdueMs: number;
}

/**
 * A key a handed-out URL may still write to though no staged record will ever sweep it: the URL of
 * an upload discarded (cancelled, refused, replaced) or consumed before the URL expired. Watched
 * until the upload's deadline (its last URL's expiry plus the staging grace), then deleted.
 */
export interface WatchedKey {
  /** Opaque: hands the entry back to `forgetWatchedKeys`. */
  watchId: string;
  bucket: string;
  key: string;
  /** A multipart upload's storage id: aborted before the key is deleted. */
  storageUploadId?: string;
}

export interface WatchClaimOutcome {
  now: number;
  /** Watched keys now due, leased to this run (due again after the lease). */
  claimed: WatchedKey[];
  /** Due entries still listed after this claim (claimed ones excluded). */
  remaining: number;
}

export interface StagingStore {
  /** Reserves quota, counts the rate limit and writes every record and work-list entry — or nothing. */
  stage(request: StageRequest): Promise<StageOutcome>;
  /**
   * Sets the multipart plan (storage's upload id, begun after `stage` checked the limits) on each
   * upload still staged that has none yet; answers the ids it set. One round trip.
   */
  attachMultipart(uploads: { uploadId: string; multipart: MultipartPlan }[]): Promise<{ attached: string[] }>;
  /**
   * The records of these uploads in any status, in request order (null when there is none), in one
   * round trip: the orphan audit's check that an object still has its upload record.
   */
  uploadRecords(uploadIds: string[]): Promise<(StagedUpload | null)[]>;
  /** Reads what consume needs to pre-check, in one round trip. */
  loadForConsume(uploadIds: string[], replayKey: string): Promise<ConsumeSnapshot>;
  /**
   * Re-checks every upload (staged, owned, of the type, before its deadline) and marks all consumed,
   * settles their quota and stores the reply for replay — all or nothing. Each upload's staged key
   * also goes on the URL watch, due at its deadline: a link released (or an `incoming/` copy removed
   * after promotion) before its URLs expire must not leave a key they can write to unswept.
   */
  commitConsume(request: CommitConsumeRequest): Promise<CommitConsumeOutcome>;
  /**
   * Before consume copies anything into the retention lock: checks every upload is staged and before
   * its deadline and pushes each deadline (and work-list entry) to at least now + `holdSeconds` —
   * all or nothing. The sweeper then cannot claim them, and the commit cannot be late, for as
   * long as the hold outlasts the copy and the commit.
   */
  holdForPromotion(uploadIds: string[], holdSeconds: number): Promise<HoldOutcome>;
  /**
   * Moves a staged upload's deadline (and work-list entry) to now + `extendSeconds`, but never past
   * createdAt + `maxLifetimeSeconds` and never earlier than it is. Refused (NOT_FOUND, EXPIRED,
   * ALREADY_CONSUMED) unless the upload is staged and before its deadline, by store time.
   */
  extendStaging(uploadId: string, request: { extendSeconds: number; maxLifetimeSeconds: number }): Promise<ExtendOutcome>;
  /**
   * Removes staged uploads (consume rejected them, or their uploader cancelled) and gives back their
   * quota; others (consumed, claimed, unknown) are left alone. Answers the bytes given back. In the
   * same step each dropped upload's key goes on the URL watch, due at its deadline: its URLs outlive
   * the record, and whatever lands through them is deleted then (`claimWatchedKeys`).
   */
  discardStaged(uploadIds: string[], orgId: string): Promise<{ releasedBytes: number }>;
  /**
   * Leases up to `limit` watched keys due by store time (re-listed at now + lease, so a crashed run's
   * come back). A watched key of a consumed upload that is still linked is unlisted instead: it is
   * linked, and its URLs have expired.
   */
  claimWatchedKeys(request: { limit: number; leaseSeconds: number }): Promise<WatchClaimOutcome>;
  /** Unlists watched keys whose objects storage confirmed gone (and multipart uploads aborted). */
  forgetWatchedKeys(watchIds: string[]): Promise<{ forgotten: number }>;
  /**
   * Claims up to `limit` uploads whose deadline (or expired lease) has passed by store time: marks
   * them claimed and pushes their work-list entry to now + lease, so a crashed run's claims come
   * back to the next run. Consumed uploads are never claimed; claimed ones can no longer be consumed.
   */
  claimExpired(request: { limit: number; leaseSeconds: number }): Promise<ClaimOutcome>;
  /**
   * Drops claimed uploads whose objects storage confirmed deleted, and gives back their reserved
   * bytes (none for an upload already `abandoned`: its bytes went back then).
   */
  finaliseSwept(uploads: Pick<StagedUpload, "uploadId" | "orgId">[]): Promise<{ finalised: number; releasedBytes: number }>;
  /**
   * Leases up to `limit` still-staged uploads whose PUT URL expired at least `settleSeconds` ago by
   * store time, for a storage check: pushes their URL-expiry entry to `now + lease` (a crashed
   * run's entries come back) without changing the record, so consume stays possible meanwhile.
   * Entries of uploads no longer staged are dropped.
   */
  claimUrlExpired(request: { limit: number; leaseSeconds: number; settleSeconds: number }): Promise<ClaimOutcome>;
  /**
   * After the storage check: uploads in `missing` that are still staged become `abandoned` (their
   * reservation given back, consume answers EXPIRED, they stay on the deadline list so the sweeper
   * still deletes an object that lands late); uploads in `present` just leave the URL-expiry list.
   */
  settleUrlExpired(request: { missing: Pick<StagedUpload, "uploadId" | "orgId">[]; present: string[] }): Promise<{ abandoned: number; releasedBytes: number }>;
}
