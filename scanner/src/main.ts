/**
 * The scanner image's entry point: `node main.mjs scan` (the scanner Lambda) or
 * `node main.mjs update-definitions` (the scheduled freshclam run) — one image, two functions
 * (the function's image command picks the role).
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { ClamdScanner } from "@fitkit/core/adapters/clamd/clamd-scanner";
import { type ClamdDaemon, startClamdDaemon } from "./clamd-daemon.js";
import { readConfig } from "./config.js";
import { downloadDefinitions } from "./definitions.js";
import { createScannerMetrics } from "./metrics.js";
import { SCANNER_ROLES } from "./roles.js";
import { type Handler, reportInitError, serveInvocations } from "./runtime-api.js";
import { handleScanRequest } from "./scan.js";
import { updateDefinitions } from "./update-definitions.js";

const CLAMD_PORT = 3310;

async function main(): Promise<void> {
  const runtimeApi = process.env.AWS_LAMBDA_RUNTIME_API ?? "";
  let handler: Handler;
  try {
    handler = await createHandler(process.argv[2]);
  } catch (error) {
    await reportInitError(runtimeApi, error);
    throw error;
  }
  await serveInvocations(runtimeApi, handler);
}

async function createHandler(role: string | undefined): Promise<Handler> {
  const config = readConfig(process.env);
  const store = { client: new S3Client({}), bucket: config.DEFINITIONS_BUCKET };
  const databaseDirectory = join(config.WORK_DIRECTORY, "db");
  const metrics = createScannerMetrics(config.STAGE);
  await mkdir(config.WORK_DIRECTORY, { recursive: true });

  if (role === SCANNER_ROLES.updateDefinitions) {
    return async () => {
      const report = await updateDefinitions({
        store,
        binary: config.FRESHCLAM_BIN,
        directory: databaseDirectory,
        workDirectory: config.WORK_DIRECTORY,
        ...(config.FRESHCLAM_MIRROR ? { mirror: config.FRESHCLAM_MIRROR } : {}),
      });
      console.log(JSON.stringify({ message: "definitions updated", ...report }));
      // The alarm on this metric fires when no run completed for 6 hours, whatever the cause.
      metrics.definitionsUpdated();
      return report;
    };
  }
  if (role !== SCANNER_ROLES.scan) throw new Error(`Unknown role "${role}": the image command is one of ${Object.values(SCANNER_ROLES).join(", ")}`);

  // Started on the first invocation (loading the definitions outlasts Lambda's init phase), then
  // kept; the definitions are re-read from the bucket when older than the refresh interval.
  let daemon: Promise<ClamdDaemon> | undefined;
  let loadedAt = 0;
  const running = async (): Promise<ClamdDaemon> => {
    if (!daemon) {
      daemon = (async () => {
        const changed = await downloadDefinitions(store, databaseDirectory);
        if (changed.length === 0) throw new Error("the definitions bucket is empty: run the definitions update once (docs/deploy.md)");
        loadedAt = Date.now();
        return startClamdDaemon({
          binary: config.CLAMD_BIN,
          databaseDirectory,
          workDirectory: config.WORK_DIRECTORY,
          port: CLAMD_PORT,
          streamMaxBytes: config.SCAN_STREAM_MAX_BYTES,
        });
      })();
      // A failed start is retried by the next invocation, not remembered.
      daemon.catch(() => (daemon = undefined));
    }
    const started = await daemon;
    if (Date.now() - loadedAt > config.DEFINITIONS_REFRESH_SECONDS * 1000) {
      loadedAt = Date.now();
      if ((await downloadDefinitions(store, databaseDirectory)).length > 0) await started.reload();
    }
    return started;
  };
  const deps = {
    scanner: async () => {
      const started = await running();
      return new ClamdScanner({ host: started.host, port: started.port });
    },
    sourceHostSuffix: config.SOURCE_HOST_SUFFIX,
    definitions: {
      builtAt: async () => (await running()).definitionsBuiltAt(),
      maxAgeSeconds: config.DEFINITIONS_MAX_AGE_HOURS * 3600,
    },
  };
  return async (event) => {
    const reply = await handleScanRequest(deps, event);
    metrics.scanned(reply);
    return reply;
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
