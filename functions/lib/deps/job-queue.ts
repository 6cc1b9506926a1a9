/**
 * The media-processing queue for this container, from `Resource.MediaQueue`: SQS (its `url`)
 * deployed; the in-process queue only when the link says `kind: "in-process"` (the local stack,
 * whose process-media handler subscribes to it in the same process).
 */

import { InProcessJobQueue } from "@fitkit/core/adapters/memory/in-process-job-queue";
import { SqsHttpClient } from "@fitkit/core/adapters/sqs/sqs-http-client";
import { SqsJobQueue } from "@fitkit/core/adapters/sqs/sqs-job-queue";
import { type JobQueue, MEDIA_JOB_MAX_RECEIVES } from "@fitkit/core/media/job-queue";
import { awsEndpointFor, awsEnvironment } from "../aws-environment.js";
import { lazy } from "../lazy.js";
import { coreLog } from "../logger.js";
import { readLinked } from "../resources.js";
import { dependencyTimeout } from "./settings.js";

/** One per process: the local stack subscribes process-media to it (local/functions.ts); it redelivers as the deployed queue does. */
export const inProcessJobQueue = new InProcessJobQueue({ maxReceives: MEDIA_JOB_MAX_RECEIVES, log: coreLog });

export const jobQueue = lazy((): JobQueue => {
  const queue = readLinked("MediaQueue", "Queue");
  // The lean SQS client (signed HTTP, the SDK client's retries), not the SDK's: consume sends this on
  // the request path, so connecting and every silence after are bounded by dependencyTimeoutMs (the
  // SDK client it replaced had no timeout: a stalled SQS held consume until API Gateway gave up).
  if (queue.url) {
    const { timeoutMs } = dependencyTimeout();
    const client = new SqsHttpClient({ ...awsEnvironment(), ...awsEndpointFor("SQS"), connectionTimeoutMs: timeoutMs, idleTimeoutMs: timeoutMs });
    return new SqsJobQueue(client, queue.url);
  }
  return inProcessJobQueue;
});
