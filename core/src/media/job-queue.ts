/**
 * The processing queue port: hands media jobs to the worker (SQS deployed, in-process locally).
 * At-least-once: a job may arrive twice; processing is idempotent.
 */
import type { MediaJob } from "./media-variants.js";

/**
 * Deliveries of a media job before it is set aside (the deployed queue's dead-letter threshold,
 * `stacks/queues.ts`; the local stack's in-process queue drops it with a warning). AWS recommends
 * at least 5 for a queue behind a Lambda event source: throttled deliveries burn receives too.
 */
export const MEDIA_JOB_MAX_RECEIVES = 5;

export interface JobQueue {
  /** Resolves once the queue has accepted every job; throws DependencyUnavailableError otherwise. */
  enqueue(jobs: MediaJob[]): Promise<void>;
}
