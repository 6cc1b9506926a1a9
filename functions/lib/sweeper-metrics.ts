/**
 * The sweeper's CloudWatch metrics (embedded metric format, written to its log by Powertools
 * Metrics): the names the sweeper emits and the alarms in `stacks/alarms.ts` watch — one owner, so
 * the two cannot drift. Plain data: importable without SST.
 */
export const SWEEPER_METRICS = {
  namespace: "FitKitUploads",
  service: "sweeper",
  /** Overdue uploads still on the work list when a run stopped. */
  remaining: "SweeperRemaining",
  /** Age of the oldest of them, in seconds. */
  oldestOverdueSeconds: "SweeperOldestOverdueSeconds",
  /** Uploads whose objects storage did not confirm deleted in a run. */
  failed: "SweeperFailed",
} as const;

/** The dimensions of every sweeper metric: the stage keeps stages in one account apart. */
export const sweeperMetricDimensions = (stage: string) => ({ service: SWEEPER_METRICS.service, stage });
