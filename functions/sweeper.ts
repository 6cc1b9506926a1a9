/**
 * The sweeper: run every 5 minutes by the schedule, and invocable as the internal `sweep`
 * operation — the same code either way. Logs its report as one structured line, and its backlog as
 * metrics the alarms watch (lib/sweep-metrics.ts).
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { sweep, sweepRequestSchema } from "@fitkit/core/staging/sweep";
import type { Context } from "aws-lambda";
import { stagingStore } from "./lib/deps/staging-store.js";
import { objectStore } from "./lib/deps/storage.js";
import { internalOperation } from "./lib/internal.js";
import { logger } from "./lib/logger.js";
import { readBucket, readStage } from "./lib/resources.js";
import { isScheduledEvent } from "./lib/scheduled-event.js";
import { SWEEP_METRICS, sweepMetricDimensions } from "./lib/sweep-metrics.js";

const metrics = new Metrics({ namespace: SWEEP_METRICS.namespace, serviceName: SWEEP_METRICS.service });

const sweepOperation = internalOperation(sweepRequestSchema, async (_event, context) => {
  const report = await sweep({
    store: await stagingStore(),
    objects: objectStore(),
    complianceBucket: readBucket("ComplianceBucket"),
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
  const { failures, ...summary } = report;
  (report.failed > 0 ? logger.warn : logger.info).call(logger, "sweep finished", { ...summary, failures });
  metrics.setDefaultDimensions(sweepMetricDimensions(readStage()));
  metrics.addMetric(SWEEP_METRICS.remaining, MetricUnit.Count, report.remaining);
  metrics.addMetric(SWEEP_METRICS.oldestOverdueSeconds, MetricUnit.Seconds, report.oldestOverdueSeconds);
  metrics.addMetric(SWEEP_METRICS.failed, MetricUnit.Count, report.failed);
  metrics.publishStoredMetrics();
  return summary;
});

/** Over invoke an error is an `{ error }` reply; a scheduled run fails loudly so the failure is on record. */
export async function handler(event: unknown, context: Context) {
  const result = await sweepOperation(event, context);
  if (isScheduledEvent(event) && "error" in result) throw new Error(`sweep failed: ${result.error.code}`);
  return result;
}
