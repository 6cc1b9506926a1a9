/**
 * The local stack: the deployed handlers behind one Node HTTP server, on the embedded defaults
 * (the patched S3 server on disk with both buckets, the in-memory store, a dev Clerk key) unless
 * the variables point at real services.
 */
import type { Server } from "node:http";
import { join } from "node:path";
import { SCHEDULED_EVENT } from "../functions/lib/scheduled-event.js";
import { uploadCorsRule } from "../stacks/cors.js";
import { createDemoRoutes } from "./demo/index.js";
import { ensureDevKey } from "./dev-auth.js";
import { type EmbeddedS3, startEmbeddedS3 } from "./embedded-s3.js";
import { type LocalEnv, resourceVariables } from "./env.js";
import { loadFunctions } from "./functions.js";
import { createLocalServer, type LocalServerOptions, lambdaContext } from "./server.js";

export interface LocalStack {
  api: string;
  s3: string;
  buckets: { media: string; compliance: string };
  close(): Promise<void>;
}

export async function startLocalStack(env: LocalEnv): Promise<LocalStack> {
  let options: LocalServerOptions | null = null;
  const server = createLocalServer(() => options);
  const port = await listen(server, env.port);
  const api = `http://127.0.0.1:${port}`;

  let embedded: EmbeddedS3 | null = null;
  if (!env.r2) {
    embedded = await startEmbeddedS3({
      port: env.s3Port,
      directory: join(env.dataDir, "s3"),
      buckets: [env.buckets.media, env.buckets.compliance],
      // The production rule set, for the pages this stack serves and any configured app origins.
      cors: uploadCorsRule([api, `http://localhost:${port}`, ...env.appOrigins]),
    });
  }
  const r2 = env.r2 ?? {
    endpoint: embedded!.endpoint,
    accessKeyId: embedded!.accessKeyId,
    secretAccessKey: embedded!.secretAccessKey,
    region: embedded!.region,
  };
  const devKey = env.clerkJwtKey ? null : await ensureDevKey(env.dataDir);
  const jwtKey = env.clerkJwtKey ?? devKey!.publicKeyPem;

  // The same linked resources a deployed function gets, through the same variables.
  Object.assign(
    process.env,
    resourceVariables({
      App: { name: "fitkit-uploads", stage: "local" },
      MediaBucket: { name: env.buckets.media },
      ComplianceBucket: { name: env.buckets.compliance },
      // One key pair serves every token name: the embedded server knows only one (R2 scopes each to its bucket).
      R2MediaWriter: r2,
      R2ComplianceWriter: r2,
      R2Reader: r2,
      Redis: env.redis,
      Clerk: { jwtKey, authorizedParties: env.clerkAuthorizedParties },
      Clamd: env.clamd,
      UploadSettings: env.settings,
    }),
  );

  // Loaded only now: handlers read their links on first use.
  const { routes, internal, schedules } = await loadFunctions();

  const { authenticator } = await import("../functions/lib/deps/authenticator.js");
  const demo = createDemoRoutes({ api, internal, devPrivateKeyPem: devKey?.privateKeyPem ?? null, authenticator: authenticator() });
  options = { routes, internal, internalApiKey: env.internalApiKey, extra: demo };
  // The deployed schedules (the sweeper every 5 minutes), with the payload the deployed schedule sends.
  const timers = schedules.map(({ key, operation, everyMs }) => {
    const timer = setInterval(() => void internal[operation]!.handler(SCHEDULED_EVENT, lambdaContext(key)).catch(() => undefined), everyMs);
    timer.unref();
    return timer;
  });
  return {
    api,
    s3: r2.endpoint,
    buckets: env.buckets,
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await embedded?.close();
    },
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    // Loopback only: the internal routes must not be reachable from elsewhere.
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}
