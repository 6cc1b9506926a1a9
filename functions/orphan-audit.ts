/**
 * The orphan audit (docs/ARCHITECTURE.md, "Orphan audit"): run daily by the schedule, report-only,
 * and invocable as the internal `orphan-audit` operation (`{ "delete": true }` deletes, circuit
 * breaker permitting). Its report is logged as one structured line; a tripped circuit breaker is an
 * error line (the alert: records were probably lost).
 */
import { orphanAuditRequestSchema, runOrphanAudit } from "@fitkit/core/audit/orphan-audit";
import type { Context } from "aws-lambda";
import { uploadSettings } from "./lib/deps/settings.js";
import { stagingStore } from "./lib/deps/staging-store.js";
import { objectStore } from "./lib/deps/storage.js";
import { internalOperation } from "./lib/internal.js";
import { coreLog, logger } from "./lib/logger.js";
import { readBuckets } from "./lib/resources.js";
import { isScheduledEvent } from "./lib/scheduled-event.js";

const auditOperation = internalOperation(orphanAuditRequestSchema, async (request) => {
  const settings = uploadSettings();
  const store = await stagingStore();
  const report = await runOrphanAudit(
    {
      uploads: store,
      links: store,
      objects: objectStore(),
      buckets: readBuckets(),
      stagingLifetimeSeconds: settings.presignTtlSeconds + settings.stagingGraceSeconds,
      maxUnknownPercent: settings.orphanAuditMaxUnknownPercent,
      log: coreLog,
    },
    request,
  );
  const { orphans, ...summary } = report;
  logger.info("orphan audit finished", { ...summary, orphansListed: orphans.length });
  return report;
});

/** A scheduled run only reports; over invoke an error is an `{ error }` reply, on the schedule it fails loudly. */
export async function handler(event: unknown, context: Context) {
  const result = await auditOperation(isScheduledEvent(event) ? {} : event, context);
  if (isScheduledEvent(event) && "error" in result) throw new Error(`orphan audit failed: ${result.error.code}`);
  return result;
}
