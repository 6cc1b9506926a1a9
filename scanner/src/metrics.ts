/**
 * The scanner image's metrics, written to its log in CloudWatch's embedded metric format by
 * Powertools Metrics (the same library and namespace as the sweeper's): every `error` reply counts
 * as a ScanError (an empty definitions bucket, clamd not starting, storage unreadable — all of them
 * are successful invocations, which Lambda's own Errors metric never sees), a stale-definitions
 * refusal also as ScanStaleDefinitions, and every completed definitions update as
 * DefinitionsUpdated. Names and dimensions: metric-names.ts (the alarms read the same).
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { ScanReply } from "@fitkit/core/adapters/lambda/scanner-protocol";
import { SCANNER_METRICS, scannerMetricDimensions } from "./metric-names.js";

export interface ScannerMetrics {
  scanned(reply: ScanReply): void;
  definitionsUpdated(): void;
}

export function createScannerMetrics(stage: string): ScannerMetrics {
  const metrics = new Metrics({ namespace: SCANNER_METRICS.namespace, serviceName: SCANNER_METRICS.service });
  // serviceName is already the `service` dimension: add only the stage (the set is scannerMetricDimensions).
  metrics.setDefaultDimensions({ stage: scannerMetricDimensions(stage).stage });
  return {
    scanned(reply) {
      // Clean and infected replies are the normal case: nothing is written for them.
      if (reply.verdict !== "error") return;
      metrics.addMetric(SCANNER_METRICS.scanErrors, MetricUnit.Count, 1);
      if (reply.cause === "stale-definitions") metrics.addMetric(SCANNER_METRICS.staleDefinitions, MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
    },
    definitionsUpdated() {
      metrics.addMetric(SCANNER_METRICS.definitionsUpdated, MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
    },
  };
}
