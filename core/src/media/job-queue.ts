/**
 * The processing queue port: hands media jobs to the worker (SQS deployed, in-process locally).
 * At-least-once: a job may arrive twice; processing is idempotent.
 */
import type { MediaJob } from "./media-variants.js";

export interface JobQueue {
  /** Resolves once the queue has accepted every job; throws DependencyUnavailableError otherwise. */
  enqueue(jobs: MediaJob[]): Promise<void>;
}
