/**
 * CloudWatch alarms, all notifying one SNS topic (`Alarms`; subscribe an email or a chat hook to it,
 * see docs/deploy.md). Each alarm says in its description what it means and what to do first.
 *
 * Every dead-letter queue has an alarm here (the wiring tests fail on a queue without one).
 */
import { SWEEPER_METRICS, sweeperMetricDimensions } from "../functions/lib/sweeper-metrics.js";
import { SCANNER_METRICS, scannerMetricDimensions } from "../scanner/src/metric-names.js";
import { SCANNER_SETTINGS } from "./scanner.js";

export interface AlarmTargets {
  /** The HTTP API: its 5xx rate, and its 429 rate (from its access log). */
  api: sst.aws.ApiGatewayV2;
  /** Its ERROR line "orphan audit: too many objects have no record…" is the alert that records were lost. */
  orphanAudit: sst.aws.Function;
  consume: sst.aws.Function;
  sweeper: sst.aws.Function;
  scanner: aws.lambda.Function;
  scannerDefinitions: aws.lambda.Function;
  processMedia: aws.lambda.Function;
  /** The media jobs queue process-media consumes. */
  mediaQueue: sst.aws.Queue;
  /** Where media jobs land after MEDIA_JOB_MAX_RECEIVES failed deliveries (stacks/queues.ts). */
  mediaDeadLetterQueue: sst.aws.Queue;
  /** Email addresses subscribed to the topic (each must confirm the subscription). */
  emails: readonly string[];
}

const FIVE_MINUTES = 300;

/**
 * The oldest media job may wait this long before the alarm: a burst (the backfill) queues jobs for
 * a while at process-media's concurrency, but an hour means processing stopped or cannot keep up.
 */
export const MEDIA_JOB_MAX_AGE_SECONDS = 3600;

/** Share of the API's responses, in 5 minutes, above which the alarms fire. */
export const API_ALARM_RATES = {
  /** Server errors: ours (a 500 is a bug; 503 a dependency down) and API Gateway's own. */
  serverErrorPercent: 1,
  /** Throttled (API Gateway's 429 above the stage's throttle, or the app's own rate limits). */
  throttledPercent: 5,
} as const;

/** The namespace of the metrics this stack derives from logs (metric filters): one per stage. */
export const logMetricNamespace = (stage: string) => `FitKitUploads/${stage}`;

/**
 * The orphan audit logs its "records were probably lost" line at ERROR (functions/orphan-audit.ts,
 * core/src/audit/orphan-audit.ts); Powertools writes each line as JSON with `level` and `message`.
 */
export const ORPHAN_AUDIT_ERROR_PATTERN = '{ $.level = "ERROR" && $.message = "orphan audit*" }';
/**
 * HTTP API access log lines in SST's format (apigatewayv2.ts) carry `status` as a *string*: SST
 * JSON.stringify-s the format, which quotes `$context.status` despite its "do not wrap" comment.
 * A JSON metric filter compares strings only with a quoted value.
 */
export const API_THROTTLED_PATTERN = '{ $.status = "429" }';

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
  const sweeperMetric = (metricName: string) => ({
    namespace: SWEEPER_METRICS.namespace,
    metricName,
    dimensions: sweeperMetricDimensions($app.stage),
    period: FIVE_MINUTES,
  });
  alarm("SweeperBacklogGrowing", {
    ...sweeperMetric(SWEEPER_METRICS.remaining),
    statistic: "Minimum",
    // Three runs in a row (15 minutes) ended with overdue uploads left: the sweeper is not keeping up.
    evaluationPeriods: 3,
    threshold: 0,
    comparisonOperator: "GreaterThanThreshold",
    alarmDescription:
      "Three sweep runs in a row ended with overdue uploads left (SweeperRemaining > 0): abandoned uploads accumulate faster than they are deleted. Check the sweeper's failures (SweeperFailed, its log) and its duration against its timeout.",
  });
  alarm("SweeperBacklogStale", {
    ...sweeperMetric(SWEEPER_METRICS.oldestOverdueSeconds),
    statistic: "Maximum",
    evaluationPeriods: 1,
    threshold: 3600,
    comparisonOperator: "GreaterThanThreshold",
    alarmDescription:
      "The oldest overdue upload has waited over an hour for deletion: some objects keep failing to delete. See SweeperFailed and the sweeper log's failures by code.",
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

  alarm("ProcessMediaErrors", {
    ...lambdaMetric(targets.processMedia, "Errors"),
    alarmDescription:
      "process-media crashed or timed out on a job (a rejected image or video is recorded as failed, not an Error). The job is delivered again, up to 5 times, then dead-lettered. Read the process-media log.",
  });
  alarm("MediaJobsOldestAge", {
    namespace: "AWS/SQS",
    metricName: "ApproximateAgeOfOldestMessage",
    dimensions: { QueueName: targets.mediaQueue.nodes.queue.name },
    statistic: "Maximum",
    period: FIVE_MINUTES,
    evaluationPeriods: 1,
    threshold: MEDIA_JOB_MAX_AGE_SECONDS,
    comparisonOperator: "GreaterThanThreshold",
    alarmDescription:
      "The oldest media job has waited over an hour: images stay 'processing'. process-media is failing, throttled or too slow for the backlog: see ProcessMediaErrors, its log, and its concurrency (the event source runs at most its reservation).",
  });
  // The API: rates of all its responses (AWS/ApiGateway for HTTP APIs: Count, 5xx by ApiId and Stage).
  const apiDimensions = { ApiId: targets.api.nodes.api.id, Stage: "$default" };
  const apiCount = {
    id: "requests",
    metric: { namespace: "AWS/ApiGateway", metricName: "Count", dimensions: apiDimensions, period: FIVE_MINUTES, stat: "Sum" },
  };
  const rate = (id: string, label: string) => ({ id: "rate", expression: `IF(requests > 0, 100 * ${id} / requests, 0)`, label, returnData: true });
  alarm("ApiServerErrorRate", {
    metricQueries: [
      apiCount,
      { id: "errors", metric: { namespace: "AWS/ApiGateway", metricName: "5xx", dimensions: apiDimensions, period: FIVE_MINUTES, stat: "Sum" } },
      rate("errors", "5xx responses, % of requests"),
    ],
    evaluationPeriods: 1,
    threshold: API_ALARM_RATES.serverErrorPercent,
    comparisonOperator: "GreaterThanThreshold",
    alarmDescription: `Over ${API_ALARM_RATES.serverErrorPercent} % of API responses in 5 minutes were 5xx: a dependency is down (503, see the functions' 'dependency unavailable' log lines), a function crashed (500), or API Gateway itself failed. Read the API's access log and the failing route's function log.`,
  });
  const apiLog = targets.api.nodes.logGroup;
  const throttledMetric = "ApiThrottled";
  new aws.cloudwatch.LogMetricFilter("ApiThrottledFilter", {
    logGroupName: apiLog.name,
    pattern: API_THROTTLED_PATTERN,
    metricTransformation: { name: throttledMetric, namespace: logMetricNamespace($app.stage), value: "1", defaultValue: "0" },
  });
  alarm("ApiThrottledRate", {
    metricQueries: [
      apiCount,
      { id: "throttled", metric: { namespace: logMetricNamespace($app.stage), metricName: throttledMetric, period: FIVE_MINUTES, stat: "Sum" } },
      rate("throttled", "429 responses, % of requests"),
    ],
    evaluationPeriods: 1,
    threshold: API_ALARM_RATES.throttledPercent,
    comparisonOperator: "GreaterThanThreshold",
    alarmDescription: `Over ${API_ALARM_RATES.throttledPercent} % of API responses in 5 minutes were 429: callers hit the stage's throttle or the app's rate limits. A flood on /public/ (see the access log's ip and routeKey) or a throttle set too low (stage config).`,
  });

  // The orphan audit's ERROR line: records were probably lost (docs/deploy.md, "The daily orphan audit").
  const auditMetric = "OrphanAuditErrors";
  new aws.cloudwatch.LogMetricFilter("OrphanAuditErrorFilter", {
    logGroupName: targets.orphanAudit.nodes.logGroup.apply((group) => group!.name),
    pattern: ORPHAN_AUDIT_ERROR_PATTERN,
    metricTransformation: { name: auditMetric, namespace: logMetricNamespace($app.stage), value: "1", defaultValue: "0" },
  });
  alarm("OrphanAuditRecordsLost", {
    namespace: logMetricNamespace($app.stage),
    metricName: auditMetric,
    statistic: "Sum",
    // The audit runs daily.
    period: 86_400,
    evaluationPeriods: 1,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    alarmDescription:
      "The orphan audit found too many objects with no record and deleted nothing: Redis probably lost data. Do not delete anything; follow docs/deploy.md, 'The daily orphan audit'.",
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
