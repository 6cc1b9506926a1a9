/**
 * The media-processing queue (consume's hand-off and the sweeper's re-drive send to it; the
 * process-media function subscribes) and its dead-letter queue, which keeps a job after
 * MEDIA_JOB_MAX_RECEIVES failed deliveries (core/src/media/job-queue.ts; the local queue uses it
 * too) for an operator to inspect (docs/deploy.md). The components are
 * named `MediaJobs…`: the link the handlers read is `MediaQueue` (stacks/links.ts), and SST names
 * must be unique.
 *
 * The numbers follow AWS's rules for an SQS event source (Lambda developer guide, "Using Lambda
 * with Amazon SQS"): the queue's visibility timeout at least six times the function's timeout (the
 * event source retries throttled batches within it), a maxReceiveCount of at least 5, and the
 * mapping's own `maximumConcurrency` — the function's reserved concurrency alone does not stop the
 * poller from receiving more messages than the function may run, which then come back throttled
 * and burn a receive each.
 */
import { MEDIA_JOB_MAX_RECEIVES } from "@fitkit/core/media/job-queue";
import { FUNCTIONS, type QueueName, timeoutSeconds } from "./functions.js";

/** AWS: "set the source queue's visibility timeout to at least six times the timeout that you configure on your function". */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** SQS's longest retention: an operator has two weeks to read and redrive a dead-lettered job. */
export const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 60 * 60;

/** SQS hides a delivered job this long: six times process-media's timeout. */
export const MEDIA_VISIBILITY_TIMEOUT_SECONDS = VISIBILITY_TIMEOUT_FACTOR * timeoutSeconds("process-media");

/**
 * How many process-media invocations the event source runs at once: exactly its reservation, so the
 * poller never hands over a message the function would refuse. SQS event sources accept 2–1000.
 */
export const MEDIA_MAXIMUM_CONCURRENCY: number = FUNCTIONS["process-media"].reservedConcurrency;

export function createQueues(): Record<QueueName, sst.aws.Queue> & { mediaDeadLetter: sst.aws.Queue } {
  const mediaDeadLetter = new sst.aws.Queue("MediaJobsDeadLetter", {
    transform: {
      queue: (args) => {
        args.messageRetentionSeconds = DEAD_LETTER_RETENTION_SECONDS;
      },
    },
  });
  const media = new sst.aws.Queue("MediaJobs", {
    visibilityTimeout: `${MEDIA_VISIBILITY_TIMEOUT_SECONDS} seconds`,
    dlq: { queue: mediaDeadLetter.arn, retry: MEDIA_JOB_MAX_RECEIVES },
  });
  return { MediaQueue: media, mediaDeadLetter };
}

export type Queues = ReturnType<typeof createQueues>;
