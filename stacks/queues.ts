/**
 * The media-processing queue (consume's hand-off and the sweeper's re-drive send to it; the
 * process-media function subscribes) and its dead-letter queue, which keeps a job after
 * MAX_RECEIVES failed deliveries for an operator to inspect (docs/deploy.md). The components are
 * named `MediaJobs…`: the link the handlers read is `MediaQueue` (stacks/links.ts), and SST names
 * must be unique.
 */
import type { QueueName } from "./functions.js";

/** Deliveries before a job moves to the dead-letter queue. */
export const MAX_RECEIVES = 3;
/** SQS hides a delivered job this long: longer than process-media's timeout, so a running job is not delivered twice. */
export const MEDIA_VISIBILITY_TIMEOUT = "16 minutes";

export function createQueues(): Record<QueueName, sst.aws.Queue> & { mediaDeadLetter: sst.aws.Queue } {
  const mediaDeadLetter = new sst.aws.Queue("MediaJobsDeadLetter");
  const media = new sst.aws.Queue("MediaJobs", {
    visibilityTimeout: MEDIA_VISIBILITY_TIMEOUT,
    dlq: { queue: mediaDeadLetter.arn, retry: MAX_RECEIVES },
  });
  return { MediaQueue: media, mediaDeadLetter };
}

export type Queues = ReturnType<typeof createQueues>;
