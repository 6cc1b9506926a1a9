/**
 * The media-processing queue for this container, from `Resource.MediaQueue`: SQS (its `url`)
 * deployed; the in-process queue only when the link says `kind: "in-process"` (the local stack,
 * whose process-media handler subscribes to it in the same process).
 */

import { SQSClient } from "@aws-sdk/client-sqs";
import { InProcessJobQueue } from "@fitkit/core/adapters/memory/in-process-job-queue";
import { SqsJobQueue } from "@fitkit/core/adapters/sqs/sqs-job-queue";
import type { JobQueue } from "@fitkit/core/media/job-queue";
import { lazy } from "../lazy.js";
import { coreLog } from "../logger.js";
import { readLinked } from "../resources.js";

/** One per process: the local stack subscribes process-media to it (local/functions.ts). */
export const inProcessJobQueue = new InProcessJobQueue({ maxReceives: 3, log: coreLog });

export const jobQueue = lazy((): JobQueue => {
  const queue = readLinked("MediaQueue", "Queue");
  if (queue.url) return new SqsJobQueue(new SQSClient({}), queue.url);
  return inProcessJobQueue;
});
