/**
 * The local stack: the deployed handlers behind one Node HTTP server, on the embedded defaults
 * (the patched S3 server on disk with the media, compliance, records and public buckets, the in-memory store, a dev Clerk key) unless
 * the variables point at real services.
 */
import type { Server } from "node:http";
import { join } from "node:path";
import { MemoryStore } from "@fitkit/core/adapters/memory/memory-store";
import { DependencyUnavailableError } from "@fitkit/core/errors";
import { SCHEDULED_EVENT } from "../functions/lib/scheduled-event.js";
import { apiCorsRule, uploadCorsRule } from "../stacks/cors.js";
import { createApiReferenceRoutes } from "./api-reference.js";
import { createDemoRoutes } from "./demo/index.js";
import { ensureDevKey } from "./dev-auth.js";
import { type LocalLog, type SupervisedS3, superviseEmbeddedS3 } from "./embedded-s3-supervisor.js";
import { type LocalEnv, resourceVariables } from "./env.js";
import { loadFunctions, sqsEvent } from "./functions.js";
import { MEMORY_STORE_FILE, type MemoryPersistence, persistMemoryStore } from "./memory-persistence.js";
import { createMinisiteRoute } from "./minisite.js";
import { createPublicMediaRoute, PUBLIC_MEDIA_PATH } from "./public-media.js";
import { createLocalServer, type LocalServerOptions, lambdaContext, type Route } from "./server.js";

export interface LocalStack {
  api: string;
  s3: string;
  buckets: { media: string; compliance: string; records: string; public: string };
  /** Where published renditions are served (PUBLIC_BASE_URL, or this stack's `/public-media/`). */
  publicBaseUrl: string;
  /** Resolves only if the stack cannot go on (the embedded S3 server could not be kept running). */
  fatal: Promise<Error>;
  close(): Promise<void>;
  /** Resolves, with the reason, if a part of the stack stops by itself (the embedded S3 server exits before close). */
  failed: Promise<string>;
}

/** The stack's own log lines: JSON on stdout, beside the handlers' (Powertools) lines. */
const log: LocalLog = (level, message, fields = {}) =>
  process.stdout.write(`${JSON.stringify({ level, message, timestamp: new Date().toISOString(), service: "fitkit-uploads-local", ...fields })}\n`);

export async function startLocalStack(env: LocalEnv): Promise<LocalStack> {
  let options: LocalServerOptions | null = null;
  const server = createLocalServer(() => options);
  const port = await listen(server, env.port);
  const api = `http://127.0.0.1:${port}`;

  let embedded: SupervisedS3 | null = null;
  if (!env.r2) {
    embedded = await superviseEmbeddedS3(
      {
        port: env.s3Port,
        directory: join(env.dataDir, "s3"),
        buckets: [env.buckets.media, env.buckets.compliance, env.buckets.records, env.buckets.public],
        // As on R2 (stacks/storage.ts): retained records, in their own bucket, can be neither overwritten nor deleted.
        retentionLocks: [{ bucket: env.buckets.records, prefix: "" }],
        // The production rule set, for the pages this stack serves and any configured app origins.
        cors: uploadCorsRule([api, `http://localhost:${port}`, ...env.appOrigins]),
      },
      log,
    );
  }
  const r2 = env.r2 ?? {
    endpoint: embedded!.endpoint,
    accessKeyId: embedded!.accessKeyId,
    secretAccessKey: embedded!.secretAccessKey,
    region: embedded!.region,
  };
  const publicBaseUrl = env.publicBaseUrl ?? `${api}${PUBLIC_MEDIA_PATH}`;
  const devKey = env.clerkJwtKey ? null : await ensureDevKey(env.dataDir);
  const jwtKey = env.clerkJwtKey ?? devKey!.publicKeyPem;

  // The same linked resources a deployed function gets, through the same variables.
  Object.assign(
    process.env,
    resourceVariables({
      App: { name: "fitkit-uploads", stage: "local" },
      MediaBucket: { name: env.buckets.media },
      ComplianceBucket: { name: env.buckets.compliance },
      RecordsBucket: { name: env.buckets.records },
      // One key pair serves every token name: the embedded server knows only one (R2 scopes each to its bucket).
      R2MediaWriter: r2,
      R2ComplianceWriter: r2,
      R2RecordsWriter: r2,
      R2Reader: r2,
      R2MediaReader: r2,
      Redis: env.redis,
      Clerk: { jwtKey, authorizedParties: env.clerkAuthorizedParties },
      Clamd: env.clamd,
      UploadSettings: env.settings,
      MediaQueue: { kind: "in-process" },
      // Deployed, a token scoped to the public bucket; locally the one embedded (or configured) credential.
      PublicMedia: { ...r2, name: env.buckets.public, baseUrl: publicBaseUrl },
    }),
  );

  // Loaded only now: handlers read their links on first use.
  const { routes, internal, schedules, queues } = await loadFunctions();
  const persistence = await persistDefaultStore(env);
  if (embedded) guardHealth(routes, embedded);

  // The deployed queue subscriptions, on the in-process queue the handlers enqueue to (Resource.MediaQueue is "in-process").
  const { inProcessJobQueue } = await import("../functions/lib/deps/job-queue.js");
  for (const { key, queue, handler, timeoutMs } of queues) {
    inProcessJobQueue.subscribe(async (records) => {
      const reply = await handler(sqsEvent(queue, records), lambdaContext(key, timeoutMs));
      return { failedMessageIds: reply.batchItemFailures.map((f) => f.itemIdentifier) };
    });
  }

  // Said at start: which HEIC decoder process-media uses here (deployed, the media worker's image has the native one).
  const { heifDecoder } = await import("../functions/lib/deps/heif-decoder.js");
  const decoder = heifDecoder().name;
  log(
    "INFO",
    decoder.startsWith("native") ? "HEIC decoder" : "HEIC decoder: heif-convert not found, using the slower wasm fallback (install Debian's libheif-examples)",
    { decoder },
  );

  const { authenticator } = await import("../functions/lib/deps/authenticator.js");
  const publishing = await import("../functions/lib/deps/publishing.js");
  const demo = createDemoRoutes({
    api,
    internal,
    devPrivateKeyPem: devKey?.privateKeyPem ?? null,
    authenticator: authenticator(),
    published: publishing.publishedMedia,
  });
  const apiReference = createApiReferenceRoutes();
  const publicMedia = createPublicMediaRoute(publishing.publicBucket());
  const minisite = createMinisiteRoute({ published: publishing.publishedMedia, baseUrl: publicBaseUrl });
  options = {
    routes,
    internal,
    internalApiKey: env.internalApiKey,
    // The deployed API's rule, for the app origins configured (an app served from another port).
    cors: apiCorsRule(env.appOrigins),
    extra: async (req, res, body) => (await apiReference(req, res)) || (await publicMedia(req, res)) || (await minisite(req, res)) || demo(req, res, body),
  };
  // The deployed schedules (the sweeper every 5 minutes), with the payload the deployed schedule sends.
  const timers = schedules.map(({ key, operation, everyMs, timeoutMs }) => {
    const timer = setInterval(() => void internal[operation]!.handler(SCHEDULED_EVENT, lambdaContext(key, timeoutMs)).catch(() => undefined), everyMs);
    timer.unref();
    return timer;
  });
  const failed = (embedded?.stopped ?? new Promise<never>(() => undefined)).then(() => "the embedded S3 server was stopped");
  const fatal = (embedded?.fatal ?? new Promise<Error>(() => undefined)).then((error) => {
    log("ERROR", "embedded S3 server is down for good: stopping the stack", { error: error.message });
    return error;
  });
  return {
    api,
    s3: r2.endpoint,
    buckets: env.buckets,
    publicBaseUrl,
    failed,
    fatal,
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await persistence?.close();
      await embedded?.close();
    },
  };
}

/**
 * The in-memory store (the default when no Redis is named) journals every change under the data
 * directory as it happens (see memory-persistence.ts) and is restored from it at start.
 */
async function persistDefaultStore(env: LocalEnv): Promise<MemoryPersistence | null> {
  if (env.redis.kind !== "memory") return null;
  const { stagingStore } = await import("../functions/lib/deps/staging-store.js");
  const store = await stagingStore();
  if (!(store instanceof MemoryStore)) return null;
  return persistMemoryStore(store, join(env.dataDir, MEMORY_STORE_FILE));
}

/**
 * The deployed `/health` touches no dependency (it stays cheap); on the local stack, which owns its
 * storage process, it also answers 503 while the embedded S3 server is down or not answering.
 */
function guardHealth(routes: Route[], storage: SupervisedS3): void {
  const health = routes.find((route) => route.functionName === "health");
  if (!health) return;
  const deployed = health.handler;
  health.handler = async (event, context) => {
    if (await storage.isUp()) return deployed(event, context);
    return {
      statusCode: 503,
      headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
      body: JSON.stringify(new DependencyUnavailableError("storage").toBody()),
    };
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
