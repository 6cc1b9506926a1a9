/**
 * CloudWatch alarms, all notifying one SNS topic (`Alarms`; subscribe an email or a chat hook to it,
 * see docs/deploy.md). Each alarm says in its description what it means and what to do first.
 *
 * Every dead-letter queue has an alarm here (the wiring tests fail on a queue without one).
 */
import { SWEEP_METRICS, sweepMetricDimensions } from "../functions/lib/sweep-metrics.js";
import { SCANNER_METRICS, scannerMetricDimensions } from "../scanner/src/metric-names.js";
import { SCANNER_SETTINGS } from "./scanner.js";

export interface AlarmTargets {
  consume: sst.aws.Function;
  sweeper: sst.aws.Function;
  scanner: aws.lambda.Function;
  scannerDefinitions: aws.lambda.Function;
  /** Where media jobs land after MAX_RECEIVES failed deliveries (stacks/queues.ts). */
  mediaDeadLetterQueue: sst.aws.Queue;
  /** Email addresses subscribed to the topic (each must confirm the subscription). */
  emails: readonly string[];
}

const FIVE_MINUTES = 300;

export function createAlarms(targets: AlarmTargets) {
  const topic = new sst.aws.SnsTopic("Alarms");
  for (const email of targets.emails) {
    new aws.sns.TopicSubscription(`AlarmsEmail${email.replace(/[^A-Za-z0-9]/g, "")}`, { topic: topic.arn, protocol: "email", endpoint: email });
  }

  const alarm = (name: string, args: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions" | "treatMissingData">) =>
    new aws.cloudwatch.MetricAlarm(name, {
      ...args,
      name: $interpolate`${$app.name}-${$app.stage}-${name}`,
      alarmActions: [topic.arn],
      okActions: [topic.arn],
      // No invocations is no failure.
      treatMissingData: "notBreaching",
    });
  const lambdaMetric = (fn: { name: $util.Input<string> }, metricName: "Errors" | "Throttles") => ({
    namespace: "AWS/Lambda",
    metricName,
    dimensions: { FunctionName: fn.name },
    statistic: "Sum",
    period: FIVE_MINUTES,
    evaluationPeriods: 1,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
  });

  alarm("ConsumeErrors", {
    ...lambdaMetric(targets.consume.nodes.function, "Errors"),
    alarmDescription:
      "consume crashed or timed out (a domain error is a reply, not an Error). Callers got no answer and retry with the same idempotency key. Read the consume log for the failing request.",
  });
  alarm("ConsumeThrottles", {
    ...lambdaMetric(targets.consume.nodes.function, "Throttles"),
    alarmDescription:
      "consume was refused for lack of concurrency: its reserved concurrency is used up. Callers should retry; if sustained, raise reservedConcurrency in stacks/functions.ts.",
  });
  alarm("SweeperErrors", {
    ...lambdaMetric(targets.sweeper.nodes.function, "Errors"),
    alarmDescription:
      "A sweep run failed (Redis or storage unreachable). It is not retried; the next run is 5 minutes away. Read the sweeper log; abandoned uploads wait meanwhile.",
  });
  const sweepMetric = (metricName: string) => ({
    namespace: SWEEP_METRICS.namespace,
    metricName,
    dimensions: sweepMetricDimensions($app.stage),
    period: FIVE_MINUTES,
  });
  alarm("SweepBacklogGrowing", {
    ...sweepMetric(SWEEP_METRICS.remaining),
    statistic: "Minimum",
    // Three runs in a row (15 minutes) ended with overdue uploads left: the sweeper is not keeping up.
    evaluationPeriods: 3,
    threshold: 0,
    comparisonOperator: "GreaterThanThreshold",
    alarmDescription:
      "Three sweep runs in a row ended with overdue uploads left (SweepRemaining > 0): abandoned uploads accumulate faster than they are deleted. Check the sweeper's failures (SweepFailed, its log) and its duration against its timeout.",
  });
  alarm("SweepBacklogStale", {
    ...sweepMetric(SWEEP_METRICS.oldestOverdueSeconds),
    statistic: "Maximum",
    evaluationPeriods: 1,
    threshold: 3600,
    comparisonOperator: "GreaterThanThreshold",
    alarmDescription:
      "The oldest overdue upload has waited over an hour for deletion: some objects keep failing to delete. See SweepFailed and the sweeper log's failures by code.",
  });
  alarm("ScannerErrors", {
    ...lambdaMetric(targets.scanner, "Errors"),
    alarmDescription:
      "The virus scanner crashed or timed out; uploads it was scanning were refused with 503 (fail closed). Read the scanner log (a cold start that cannot load definitions shows there).",
  });
  alarm("ScannerThrottles", {
    ...lambdaMetric(targets.scanner, "Throttles"),
    alarmDescription:
      "Scans were refused for lack of scanner concurrency, so uploads were refused with 503. If sustained, raise SCANNER_SETTINGS.reservedConcurrency in stacks/scanner.ts.",
  });
  alarm("ScannerDefinitionsUpdateFailed", {
    ...lambdaMetric(targets.scannerDefinitions, "Errors"),
    // The update runs every 3 hours.
    period: 3 * 3600,
    alarmDescription:
      "The scheduled freshclam run failed; scanners keep the definitions they have. Read its log (mirror unreachable or rate-limited). If it keeps failing the definitions go stale.",
  });

  alarm("MediaJobsDeadLettered", {
    namespace: "AWS/SQS",
    metricName: "ApproximateNumberOfMessagesVisible",
    dimensions: { QueueName: targets.mediaDeadLetterQueue.nodes.queue.name },
    statistic: "Maximum",
    period: FIVE_MINUTES,
    evaluationPeriods: 1,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    alarmDescription:
      "A media-processing job failed every delivery and sits in the dead-letter queue: that image stays 'processing'. Read the process-media log for its key; after fixing the cause, move the job back (redrive) to the queue.",
  });

  createScannerHealthAlarms(topic, targets);

  return { topic };
}

// ── The scanner's health (issue 24 item 4): what Lambda's own metrics cannot see. ──────────────────
// A scan that gives no verdict is a *successful* invocation answering `{ verdict: "error" }` (empty
// definitions bucket, clamd not starting, storage unreadable, stale definitions), so the alarms read
// the metrics the scanner image emits itself (scanner/src/metric-names.ts).

/** Alarms on the scanner image's own metrics, notifying `topic`. */
function createScannerHealthAlarms(topic: sst.aws.SnsTopic, targets: Pick<AlarmTargets, "scanner">) {
  const scannerAlarm = (name: string, args: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions" | "namespace" | "dimensions" | "statistic">) =>
    new aws.cloudwatch.MetricAlarm(name, {
      namespace: SCANNER_METRICS.namespace,
      dimensions: scannerMetricDimensions($app.stage),
      statistic: "Sum",
      ...args,
      name: $interpolate`${$app.name}-${$app.stage}-${name}`,
      alarmActions: [topic.arn],
      okActions: [topic.arn],
    });

  scannerAlarm("ScannerScanErrors", {
    metricName: SCANNER_METRICS.scanErrors,
    period: FIVE_MINUTES,
    evaluationPeriods: 1,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    // No scans, no errors.
    treatMissingData: "notBreaching",
    alarmDescription: $interpolate`Scans answered without a verdict, so their uploads were refused with 503 (fail closed). Read the log of ${targets.scanner.name} for the reason: "the definitions bucket is empty" (seed it, docs/deploy.md), "clamd exited", "could not read the object" (storage), or stale definitions (see ScannerStaleDefinitions).`,
  });
  scannerAlarm("ScannerStaleDefinitions", {
    metricName: SCANNER_METRICS.staleDefinitions,
    period: FIVE_MINUTES,
    evaluationPeriods: 1,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: "notBreaching",
    alarmDescription: `The loaded virus definitions are older than ${SCANNER_SETTINGS.definitionsMaxAgeHours} h, so every clean scan is refused (503). The definitions update is not publishing: see ScannerDefinitionsNotUpdated and the updater's log (rate-limited by ClamAV's CDN?), then run it by hand (docs/deploy.md).`,
  });
  scannerAlarm("ScannerDefinitionsNotUpdated", {
    metricName: SCANNER_METRICS.definitionsUpdated,
    period: SCANNER_SETTINGS.definitionsUpdateAlarmHours * 3600,
    evaluationPeriods: 1,
    threshold: 1,
    comparisonOperator: "LessThanThreshold",
    // No data is the failure this alarm exists for: the schedule stopped, or every run failed.
    treatMissingData: "breaching",
    alarmDescription: `No definitions update completed in ${SCANNER_SETTINGS.definitionsUpdateAlarmHours} h (it runs ${SCANNER_SETTINGS.definitionsSchedule}): the schedule is disabled or every run fails. Definitions go stale after ${SCANNER_SETTINGS.definitionsMaxAgeHours} h, after which every upload is refused. Check the ScannerDefinitionsSchedule and the updater's log.`,
  });
}
