/**
 * Virus scanning for this container: the scanner Lambda when `Resource.ScannerFunction` is linked
 * (deployed stages), else clamd when `Resource.Clamd` names a host (the local stack), otherwise off
 * — said once in the log at cold start, never silently.
 */
import { ClamdScanner } from "@fitkit/core/adapters/clamd/clamd-scanner";
import { LambdaHttpInvoker } from "@fitkit/core/adapters/lambda/lambda-http-invoker";
import { LambdaScanner } from "@fitkit/core/adapters/lambda/lambda-scanner";
import type { Scanner } from "@fitkit/core/scanning/scanner";
import { awsEndpointFor, awsEnvironment } from "../aws-environment.js";
import { lazy } from "../lazy.js";
import { logger } from "../logger.js";
import { isLinked, readLinked } from "../resources.js";
import { SCAN_CLIENT } from "../scan-client.js";
import { signerForBucket } from "./signer.js";

export const scanner = lazy((): Scanner | null => {
  if (isLinked("ScannerFunction")) {
    const { name } = readLinked("ScannerFunction", "ScannerFunction");
    logger.info("virus scanning is on", { scannerFunction: name });
    return new LambdaScanner({
      // Timing and parallelism sized against the scanner and consume (functions/lib/scan-client.ts); the
      // lean invoker (signed HTTP) waits and retries as the SDK's Lambda client did with these settings.
      lambda: new LambdaHttpInvoker({
        ...awsEnvironment(),
        ...awsEndpointFor("LAMBDA"),
        maxAttempts: SCAN_CLIENT.maxAttempts,
        connectionTimeoutMs: SCAN_CLIENT.connectionTimeoutMs,
        idleTimeoutMs: SCAN_CLIENT.requestTimeoutMs,
      }),
      functionName: name,
      signerFor: signerForBucket,
      maxConcurrentScans: SCAN_CLIENT.maxConcurrentScans,
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
