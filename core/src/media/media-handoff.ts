/**
 * The hand-off of media jobs to the queue: consume's own after its commit, and the sweeper's
 * re-drive of what the outbox still holds. Kept apart from the worker (process-media.ts) so the
 * handlers that hand jobs over never bundle the image pipeline (sharp, libheif): they have no sharp
 * installed, and loading it would fail their cold start.
 */
import { type Log, silentLog } from "../logging.js";
import type { JobQueue } from "./job-queue.js";
import type { MediaJob, MediaVariants } from "./media-variants.js";

/** What hands jobs over: the queue, and the outbox that keeps them until it accepted them. */
export interface MediaHandoffDeps {
  queue: JobQueue;
  outbox: Pick<MediaVariants, "claimMediaJobs" | "ackMediaJobs">;
  log?: Log;
}

/**
 * Consume's hand-off after its commit: enqueue, then acknowledge. Never throws — a failure leaves
 * the jobs in the outbox, where the sweeper's re-drive finds them once the grace has passed.
 */
export async function handOffMediaJobs(deps: MediaHandoffDeps, jobs: MediaJob[]): Promise<void> {
  if (jobs.length === 0) return;
  try {
    await deps.queue.enqueue(jobs);
    await deps.outbox.ackMediaJobs(jobs);
  } catch (error) {
    (deps.log ?? silentLog).warn("media jobs not handed to the queue; the sweeper re-drives them", { jobs: jobs.length, error: String(error) });
  }
}

/** Jobs re-driven per batch: SQS's SendMessageBatch takes 10; a few batches per sweeper run. */
export const REDRIVE_BATCH_SIZE = 100;
/** A re-driven job that is not acknowledged (enqueue failed again) is due again after this long. */
export const REDRIVE_LEASE_SECONDS = 120;

/**
 * The sweeper's re-drive: every outbox job whose hand-off did not complete is claimed (leased),
 * enqueued and acknowledged. Invariant: a job leaves the outbox only after the queue accepted it,
 * so every linked image is processed at least once. Throws when the queue refuses (the run reports it).
 */
export async function redriveMediaJobs(deps: MediaHandoffDeps): Promise<{ redriven: number }> {
  let redriven = 0;
  for (;;) {
    const jobs = await deps.outbox.claimMediaJobs({ limit: REDRIVE_BATCH_SIZE, leaseSeconds: REDRIVE_LEASE_SECONDS });
    if (jobs.length === 0) break;
    await deps.queue.enqueue(jobs);
    await deps.outbox.ackMediaJobs(jobs);
    redriven += jobs.length;
    if (jobs.length < REDRIVE_BATCH_SIZE) break;
  }
  return { redriven };
}
