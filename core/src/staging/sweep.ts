/**
 * The sweeper: uploads past their deadline that were never consumed are claimed atomically, their
 * objects deleted, and only then — for the keys storage confirmed — their records dropped and their
 * reserved bytes given back. A crash between claim and finalise leaves the lease to run out and the
 * next run retries; deleting an object that is already gone is success.
 */
import * as z from "zod";
import { MAX_KEYS_PER_DELETE, type ObjectStore } from "../storage/object-store.js";
import type { StagedUpload } from "../uploads/upload.js";
import type { StagingStore } from "./staging-store.js";

/** A sweep takes no input: the schedule's EventBridge event and an internal call's `{}` are both accepted as they are. */
export const sweepRequestSchema = z.unknown();

/** Uploads claimed per batch: one DeleteObjects request's worth per bucket. */
export const DELETE_BATCH_SIZE = MAX_KEYS_PER_DELETE;
/** How long a claim is held before another run may retry it. */
export const CLAIM_LEASE_SECONDS = 300;
/** Stop claiming when less time than this is left in the invocation. */
export const TIME_RESERVE_MS = 15_000;

export interface SweepDeps {
  store: Pick<StagingStore, "claimExpired" | "finaliseSwept">;
  objects: Pick<ObjectStore, "deleteObjects">;
  /** The compliance bucket: only its `incoming/` prefix may ever be swept. */
  complianceBucket: string;
  /** Time left in this invocation (Lambda's getRemainingTimeInMillis); unbounded when absent. */
  remainingTimeMs?: () => number;
  batchSize?: number;
  leaseSeconds?: number;
}

export interface SweepReport {
  claimed: number;
  deleted: number;
  failed: number;
  /** Overdue uploads left on the work list when the run stopped. */
  remaining: number;
  oldestOverdueSeconds: number;
  /** Failures by storage error code, for the log. */
  failures: Record<string, number>;
}

/** Never touch retained compliance records, whatever a record says. */
function mayDelete(upload: StagedUpload, complianceBucket: string): boolean {
  return upload.bucket !== complianceBucket || upload.key.startsWith("incoming/");
}

/**
 * Invariant: an upload's record is dropped only after storage confirmed its object is gone, and a
 * consumed upload is never claimed — so no linked object is deleted and no object is left unlisted.
 * Cost per batch of up to 1000: two store round trips and one DeleteObjects per bucket.
 */
export async function sweep(deps: SweepDeps): Promise<SweepReport> {
  const batchSize = Math.min(deps.batchSize ?? DELETE_BATCH_SIZE, DELETE_BATCH_SIZE);
  const report: SweepReport = { claimed: 0, deleted: 0, failed: 0, remaining: 0, oldestOverdueSeconds: 0, failures: {} };
  const fail = (count: number, code: string) => {
    if (count === 0) return;
    report.failed += count;
    report.failures[code] = (report.failures[code] ?? 0) + count;
  };

  // One batch always runs (an invocation starts with its whole timeout); later ones only while time is left.
  for (let batch = 0; batch === 0 || !deps.remainingTimeMs || deps.remainingTimeMs() > TIME_RESERVE_MS; batch++) {
    const claim = await deps.store.claimExpired({ limit: batchSize, leaseSeconds: deps.leaseSeconds ?? CLAIM_LEASE_SECONDS });
    report.remaining = claim.remaining;
    report.oldestOverdueSeconds = Math.floor(claim.oldestOverdueMs / 1000);
    if (claim.claimed.length === 0) break;
    report.claimed += claim.claimed.length;

    const deletable = claim.claimed.filter((u) => mayDelete(u, deps.complianceBucket));
    fail(claim.claimed.length - deletable.length, "ProtectedKey");
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
  return report;
}
