/**
 * The scanner image's CloudWatch metrics (embedded metric format in its log): the names the scanner
 * and the definitions update emit (scanner/src/metrics.ts) and the alarms in `stacks/alarms.ts`
 * watch — one owner, so the two cannot drift. Plain data: importable without SST or Powertools.
 */
export const SCANNER_METRICS = {
  namespace: "FitKitUploads",
  service: "scanner",
  /** Scans that gave no verdict (an `error` reply: the caller refused the upload with 503). */
  scanErrors: "ScanErrors",
  /** Of those, scans whose clean verdict was refused because the definitions are too old. */
  staleDefinitions: "ScanStaleDefinitions",
  /** Definitions-update runs that completed (freshclam ran and its result was published). */
  definitionsUpdated: "DefinitionsUpdated",
} as const;

/** The dimensions of every scanner metric: the stage keeps stages in one account apart. */
export const scannerMetricDimensions = (stage: string) => ({ service: SCANNER_METRICS.service, stage });
