/**
 * The sweeper, in two phases per run.
 *
 * Early release: uploads whose PUT URL expired (plus a settle time) while still staged are leased,
 * storage is asked whether their object arrived (HEAD, a bounded number at once), and those with
 * none are abandoned — their reservation given back now rather than at the deadline.
 *
 * Deadline sweep: uploads past their deadline that were never consumed are claimed atomically,
 * their multipart uploads aborted and their objects deleted, and only then — for the keys storage confirmed — their records dropped and
 * their reserved bytes given back. A crash between claim and finalise leaves the lease to run out
 * and the next run retries; deleting an object that is already gone is success.
 *
 * URL watch: a presigned URL cannot be revoked, so a key whose upload was discarded (cancelled,
 * refused, replaced) or consumed before its URLs expired stays watched until the upload's deadline
 * (the last URL's expiry plus the staging grace). Then its multipart upload is aborted and its key
 * deleted — whatever landed there meanwhile is counted nowhere — unless it is a consumed key still linked.
 */
import * as z from "zod";
import { MAX_KEYS_PER_DELETE, type ObjectStore } from "../storage/object-store.js";
import type { StagedUpload } from "../uploads/upload.js";
import type { StagingStore } from "./staging-store.js";

/** The sweeper takes no input: the schedule's EventBridge event and an internal call's `{}` are both accepted as they are. */
export const sweeperRequestSchema = z.unknown();

/** Uploads claimed per batch: one DeleteObjects request's worth per bucket. */
export const DELETE_BATCH_SIZE = MAX_KEYS_PER_DELETE;
/** How long a claim is held before another run may retry it. */
export const CLAIM_LEASE_SECONDS = 300;
/** Stop claiming when less time than this is left in the invocation. */
export const TIME_RESERVE_MS = 15_000;
/**
 * Storage accepts a PUT whose URL was valid when the request began, and a large body may take
 * minutes to arrive: an object is looked for only this long after its URL expired.
 */
export const URL_SETTLE_SECONDS = 300;
/** Uploads leased per early-release batch, and how many HEADs of a batch are in flight at once. */
export const URL_CHECK_BATCH_SIZE = 200;
export const URL_CHECK_CONCURRENCY = 16;

export interface SweepDeps {
  store: Pick<StagingStore, "claimExpired" | "finaliseSwept" | "claimUrlExpired" | "settleUrlExpired" | "claimWatchedKeys" | "forgetWatchedKeys">;
  objects: Pick<ObjectStore, "deleteObjects" | "head" | "abortMultipart">;
  /** The compliance bucket: only its `incoming/` prefix may ever be swept. */
  complianceBucket: string;
  /** Time left in this invocation (Lambda's getRemainingTimeInMillis); unbounded when absent. */
  remainingTimeMs?: () => number;
  batchSize?: number;
  leaseSeconds?: number;
  /** How long after its URL expired an upload's object is looked for (default `URL_SETTLE_SECONDS`). */
  urlSettleSeconds?: number;
}

const count = z.number().int().min(0);

export const sweepReportSchema = z.object({
  claimed: count,
  deleted: count,
  failed: count,
  /** Overdue uploads left on the work list when the run stopped. */
  remaining: count,
  oldestOverdueSeconds: z.number().min(0),
  /** Uploads whose storage was checked because their URL had expired. */
  urlChecked: count,
  /** Of those, uploads with no object: reservation given back, no longer consumable. */
  abandoned: count,
  abandonedBytes: count,
  /** Uploads still due for that check when the run stopped. */
  urlRemaining: count,
  /** Watched keys (URLs that outlived their records) whose watch ended: aborted, deleted and unlisted. */
  watchedDeleted: count,
  /** Watched keys still due when the run stopped. */
  watchedRemaining: count,
  /** Failures by storage error code, for the log. */
  failures: z.record(z.string(), count),
});
export type SweepReport = z.output<typeof sweepReportSchema>;

/**
 * The reply of the internal `sweeper`: the report without its failure breakdown (that goes to the
 * log), plus the media jobs re-driven in the same run. Documented, never parsed at run time.
 */
export const sweeperResponseSchema = sweepReportSchema.omit({ failures: true }).extend({ mediaJobsRedriven: count });
export type SweeperResponse = z.output<typeof sweeperResponseSchema>;

/** Never touch retained compliance records, whatever a record says. */
function mayDelete(upload: Pick<StagedUpload, "bucket" | "key">, complianceBucket: string): boolean {
  return upload.bucket !== complianceBucket || upload.key.startsWith("incoming/");
}

/** A run that found nothing to do: every count 0. */
export function emptySweepReport(): SweepReport {
  return {
    claimed: 0,
    deleted: 0,
    failed: 0,
    remaining: 0,
    oldestOverdueSeconds: 0,
    urlChecked: 0,
    abandoned: 0,
    abandonedBytes: 0,
    urlRemaining: 0,
    watchedDeleted: 0,
    watchedRemaining: 0,
    failures: {},
  };
}

/**
 * Invariants: an upload's record is dropped only after storage confirmed its object is gone, and a
 * consumed upload is never claimed — so no linked object is deleted and no object is left unlisted.
 * A reservation is given back early only for an upload still staged whose object storage did not
 * have after its URL expired; it stays listed for the deadline sweep, so a late object is deleted.
 * A watched key is deleted only once its upload's deadline has passed, and unlisted only once storage
 * confirmed it gone — so bytes PUT through a URL that outlived its record are always deleted.
 * Cost per batch of up to 1000: two store round trips and one DeleteObjects per bucket; per
 * early-release batch of up to 200: two store round trips and one HEAD per upload; per URL-watch
 * batch of up to 1000: two store round trips, one DeleteObjects per bucket and one abort per multipart upload.
 */
export async function sweep(deps: SweepDeps): Promise<SweepReport> {
  const batchSize = Math.min(deps.batchSize ?? DELETE_BATCH_SIZE, DELETE_BATCH_SIZE);
  const leaseSeconds = deps.leaseSeconds ?? CLAIM_LEASE_SECONDS;
  const report = emptySweepReport();
  const fail = (count: number, code: string) => {
    if (count === 0) return;
    report.failed += count;
    report.failures[code] = (report.failures[code] ?? 0) + count;
  };
  // Each phase runs one batch whatever the time (an invocation starts with its whole timeout); later ones only while time is left.
  const timeLeft = () => !deps.remainingTimeMs || deps.remainingTimeMs() > TIME_RESERVE_MS;

  for (let batch = 0; batch === 0 || timeLeft(); batch++) {
    const claim = await deps.store.claimUrlExpired({ limit: URL_CHECK_BATCH_SIZE, leaseSeconds, settleSeconds: deps.urlSettleSeconds ?? URL_SETTLE_SECONDS });
    report.urlRemaining = claim.remaining;
    if (claim.claimed.length === 0) break;
    const found = await mapBounded(claim.claimed, URL_CHECK_CONCURRENCY, (u) =>
      // A multipart upload has no URL of its own (its parts' URLs move its deadline): the deadline sweep handles it.
      u.multipart
        ? Promise.resolve("present")
        : deps.objects.head(u.bucket, u.key).then(
            (info) => (info ? "present" : "missing"),
            // Unknown: the lease runs out and a later run asks again.
            () => "unknown",
          ),
    );
    const missing = claim.claimed.filter((_, i) => found[i] === "missing");
    const present = claim.claimed.filter((_, i) => found[i] === "present").map((u) => u.uploadId);
    fail(found.filter((f) => f === "unknown").length, "HeadFailed");
    const settled = await deps.store.settleUrlExpired({ missing, present });
    report.urlChecked += missing.length + present.length;
    report.abandoned += settled.abandoned;
    report.abandonedBytes += settled.releasedBytes;
    if (claim.claimed.length < URL_CHECK_BATCH_SIZE) break;
  }

  for (let batch = 0; batch === 0 || timeLeft(); batch++) {
    const claim = await deps.store.claimExpired({ limit: batchSize, leaseSeconds });
    report.remaining = claim.remaining;
    report.oldestOverdueSeconds = Math.floor(claim.oldestOverdueMs / 1000);
    if (claim.claimed.length === 0) break;
    report.claimed += claim.claimed.length;

    const allowed = claim.claimed.filter((u) => mayDelete(u, deps.complianceBucket));
    fail(claim.claimed.length - allowed.length, "ProtectedKey");
    // An abandoned multipart upload's parts go first (already gone is success); its key is deleted
    // too, in case it was completed but never consumed.
    const aborted = await mapBounded(allowed, URL_CHECK_CONCURRENCY, (u) =>
      u.multipart
        ? deps.objects.abortMultipart(u.bucket, u.key, u.multipart.storageUploadId).then(
            () => true,
            () => false,
          )
        : Promise.resolve(true),
    );
    const deletable = allowed.filter((_, i) => aborted[i]);
    fail(allowed.length - deletable.length, "AbortFailed");
    const gone: StagedUpload[] = [];
    for (const bucket of new Set(deletable.map((u) => u.bucket))) {
      const inBucket = deletable.filter((u) => u.bucket === bucket);
      const outcome = await deps.objects.deleteObjects(
        bucket,
        inBucket.map((u) => u.key),
      );
      const deleted = new Set(outcome.deleted);
      gone.push(...inBucket.filter((u) => deleted.has(u.key)));
      for (const failure of outcome.failed) fail(1, failure.code);
    }
    const { finalised } = await deps.store.finaliseSwept(gone);
    report.deleted += finalised;
    if (claim.claimed.length < batchSize) break;
  }

  for (let batch = 0; batch === 0 || timeLeft(); batch++) {
    const claim = await deps.store.claimWatchedKeys({ limit: batchSize, leaseSeconds });
    report.watchedRemaining = claim.remaining;
    if (claim.claimed.length === 0) break;
    const allowed = claim.claimed.filter((w) => mayDelete(w, deps.complianceBucket));
    fail(claim.claimed.length - allowed.length, "ProtectedKey");
    const aborted = await mapBounded(allowed, URL_CHECK_CONCURRENCY, (w) =>
      w.storageUploadId
        ? deps.objects.abortMultipart(w.bucket, w.key, w.storageUploadId).then(
            () => true,
            () => false,
          )
        : Promise.resolve(true),
    );
    const deletable = allowed.filter((_, i) => aborted[i]);
    fail(allowed.length - deletable.length, "AbortFailed");
    // A protected key is never deleted: its entry is dropped (no URL of ours can write there).
    const forget = claim.claimed.filter((w) => !mayDelete(w, deps.complianceBucket)).map((w) => w.watchId);
    const deleted: string[] = [];
    for (const bucket of new Set(deletable.map((w) => w.bucket))) {
      const inBucket = deletable.filter((w) => w.bucket === bucket);
      const outcome = await deps.objects.deleteObjects(
        bucket,
        inBucket.map((w) => w.key),
      );
      const gone = new Set(outcome.deleted);
      deleted.push(...inBucket.filter((w) => gone.has(w.key)).map((w) => w.watchId));
      for (const failure of outcome.failed) fail(1, failure.code);
    }
    await deps.store.forgetWatchedKeys([...deleted, ...forget]);
    report.watchedDeleted += deleted.length;
    if (claim.claimed.length < batchSize) break;
  }
  return report;
}

/** `work` over every item with at most `limit` running at once; results in item order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
