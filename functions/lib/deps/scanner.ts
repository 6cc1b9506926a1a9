/**
 * Virus scanning for this container: clamd when `Resource.Clamd` names a host, otherwise off —
 * said once in the log at cold start, never silently.
 */
import { ClamdScanner } from "@fitkit/core/adapters/clamd/clamd-scanner";
import type { Scanner } from "@fitkit/core/scanning/scanner";
import { lazy } from "../lazy.js";
import { logger } from "../logger.js";
import { isLinked, readLinked } from "../resources.js";

export const scanner = lazy((): Scanner | null => {
  const clamd = isLinked("Clamd") ? readLinked("Clamd", "Clamd") : null;
  if (!clamd?.host) {
    logger.warn("virus scanning is OFF: no clamd configured (Resource.Clamd / CLAMD_HOST)");
    return null;
  }
  logger.info("virus scanning is on", { clamd: `${clamd.host}:${clamd.port}` });
  return new ClamdScanner({ host: clamd.host, port: clamd.port });
});
