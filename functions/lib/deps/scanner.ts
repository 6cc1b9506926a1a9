/**
 * Virus scanning for this container: the scanner Lambda when `Resource.ScannerFunction` is linked
 * (deployed stages), else clamd when `Resource.Clamd` names a host (the local stack), otherwise off
 * — said once in the log at cold start, never silently.
 */
import { LambdaClient } from "@aws-sdk/client-lambda";
import { ClamdScanner } from "@fitkit/core/adapters/clamd/clamd-scanner";
import { LambdaScanner } from "@fitkit/core/adapters/lambda/lambda-scanner";
import type { Scanner } from "@fitkit/core/scanning/scanner";
import { lazy } from "../lazy.js";
import { logger } from "../logger.js";
import { isLinked, readLinked } from "../resources.js";
import { signerForBucket } from "./signer.js";

export const scanner = lazy((): Scanner | null => {
  if (isLinked("ScannerFunction")) {
    const { name } = readLinked("ScannerFunction", "ScannerFunction");
    logger.info("virus scanning is on", { scannerFunction: name });
    return new LambdaScanner({
      // One retry (a throttle or a dropped connection); then fail closed. The scanner's own timeout
      // (stacks/scanner.ts) bounds a call, a cold start included.
      client: new LambdaClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 2000, requestTimeout: 100_000 } }),
      functionName: name,
      signerFor: signerForBucket,
    });
  }
  const clamd = isLinked("Clamd") ? readLinked("Clamd", "Clamd") : null;
  if (!clamd?.host) {
    logger.warn("virus scanning is OFF: no scanner linked (Resource.ScannerFunction) and no clamd configured (Resource.Clamd / CLAMD_HOST)");
    return null;
  }
  logger.info("virus scanning is on", { clamd: `${clamd.host}:${clamd.port}` });
  return new ClamdScanner({ host: clamd.host, port: clamd.port });
});
