/**
 * The sweeper: run every 5 minutes by the schedule, and invocable as the internal `sweeper`
 * operation — the same code either way. It also re-drives media jobs whose hand-off after consume
 * did not complete. Logs its report as one structured line, and its backlog as metrics the alarms
 * watch (lib/sweeper-metrics.ts).
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { redriveMediaJobs } from "@fitkit/core/media/media-handoff";
import { type SweeperResponse, sweep, sweeperRequestSchema } from "@fitkit/core/staging/sweeper";
import type { Context } from "aws-lambda";
import { jobQueue } from "./lib/deps/job-queue.js";
import { mediaVariants } from "./lib/deps/media-variants.js";
import { stagingStore } from "./lib/deps/staging-store.js";
import { objectStore } from "./lib/deps/storage.js";
import { internalOperation } from "./lib/internal.js";
import { logger } from "./lib/logger.js";
import { readBucket, readStage } from "./lib/resources.js";
import { isScheduledEvent } from "./lib/scheduled-event.js";
import { SWEEPER_METRICS, sweeperMetricDimensions } from "./lib/sweeper-metrics.js";

const metrics = new Metrics({ namespace: SWEEPER_METRICS.namespace, serviceName: SWEEPER_METRICS.service });

const sweepOperation = internalOperation(sweeperRequestSchema, async (_event, context): Promise<SweeperResponse> => {
  const report = await sweep({
    store: await stagingStore(),
    objects: objectStore(),
    complianceBucket: readBucket("ComplianceBucket"),
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
  // Media jobs whose hand-off after consume did not complete (docs/ARCHITECTURE.md, "Media processing").
  const { redriven } = await redriveMediaJobs({ queue: jobQueue(), outbox: await mediaVariants() });
  const { failures, ...summary } = report;
  (report.failed > 0 ? logger.warn : logger.info).call(logger, "sweep finished", { ...summary, failures, mediaJobsRedriven: redriven });
  metrics.setDefaultDimensions(sweeperMetricDimensions(readStage()));
  metrics.addMetric(SWEEPER_METRICS.remaining, MetricUnit.Count, report.remaining);
  metrics.addMetric(SWEEPER_METRICS.oldestOverdueSeconds, MetricUnit.Seconds, report.oldestOverdueSeconds);
  metrics.addMetric(SWEEPER_METRICS.failed, MetricUnit.Count, report.failed);
  metrics.publishStoredMetrics();
  return { ...summary, mediaJobsRedriven: redriven };
});

/** Over invoke an error is an `{ error }` reply; a scheduled run fails loudly so the failure is on record. */
export async function handler(event: unknown, context: Context) {
  const result = await sweepOperation(event, context);
  if (isScheduledEvent(event) && "error" in result) throw new Error(`sweep failed: ${result.error.code}`);
  return result;
}
