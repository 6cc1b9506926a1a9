/**
 * `npm run reconcile -- --org org_1 [--apply]`: recompute an organisation's used bytes from a
 * storage listing and report the drift (and correct it with --apply).
 * `npm run reconcile -- --media-backfill [--org org_1]`: put a processing job in the outbox for
 * every linked image (of the org, or of the whole media bucket) that has no outcome and no job —
 * images linked before processing existed; the sweeper's re-drive hands them to the queue.
 * Uses the same variables as the local stack, but needs a real Redis (REDIS_URL or UPSTASH_*) and
 * storage (R2_*): the in-memory store lives inside a running stack.
 * And `npm run reconcile -- --audit [--delete]`: the orphan audit — list both buckets and report the
 * objects that have no record of any kind (and delete them with --delete, unless the circuit
 * breaker trips: then it exits 3). (On a running local stack, invoke the internal
 * `orphan-audit` operation instead.)
 */
import { parseArgs } from "node:util";
import { createIoredisClient, IoredisDriver } from "@fitkit/core/adapters/redis/ioredis-driver";
import { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { createUpstashClient, UpstashDriver } from "@fitkit/core/adapters/redis/upstash-driver";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { runOrphanAudit } from "@fitkit/core/audit/orphan-audit";
import type { Log } from "@fitkit/core/logging";
import { backfillMediaJobs } from "@fitkit/core/media/backfill-media-jobs";
import { isSafeSegment } from "@fitkit/core/policies/object-keys";
import { reconcile } from "@fitkit/core/quotas/reconcile";
import { readLocalEnv } from "./env.js";

const USAGE =
  "usage: npm run reconcile -- --org <orgId> [--apply]  |  npm run reconcile -- --media-backfill [--org <orgId>]  |  npm run reconcile -- --audit [--delete]";
const { values } = parseArgs({
  options: {
    org: { type: "string" },
    apply: { type: "boolean", default: false },
    "media-backfill": { type: "boolean", default: false },
    audit: { type: "boolean", default: false },
    delete: { type: "boolean", default: false },
  },
});
const fail = (message: string): never => {
  process.stderr.write(`${message}\n`);
  process.exit(2);
};

const env = readLocalEnv(process.env);
const backfill = values["media-backfill"] ?? false;
const audit = values.audit ?? false;
if (values.org !== undefined && !isSafeSegment(values.org)) fail(USAGE);
if (backfill && audit) fail(USAGE);
if (!backfill && !audit && values.org === undefined) fail(USAGE);
if (!audit && values.delete) fail(USAGE);
if (!env.r2)
  fail("reconcile needs storage: set R2_ENDPOINT, R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY (the embedded server: http://127.0.0.1:4569, S3RVER, S3RVER).");
const timeout = { timeoutMs: env.settings.dependencyTimeoutMs };
const ioredis = env.redis.url ? createIoredisClient(env.redis.url, timeout) : null;
const driver = ioredis
  ? new IoredisDriver(ioredis)
  : env.redis.restUrl && env.redis.restToken
    ? new UpstashDriver(createUpstashClient({ url: env.redis.restUrl, token: env.redis.restToken }, timeout))
    : fail("reconcile needs Redis: set REDIS_URL or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.");

/** Warnings and the circuit breaker's error line go to stderr, the report to stdout. */
const stderrLog: Log = {
  info: () => undefined,
  warn: (message, fields) => process.stderr.write(`${JSON.stringify({ level: "WARN", message, ...fields })}\n`),
  error: (message, fields) => process.stderr.write(`${JSON.stringify({ level: "ERROR", message, ...fields })}\n`),
};

try {
  const store = new RedisStore(driver);
  const objects = new S3ObjectStore(createS3Client(env.r2!, timeout));
  if (backfill) {
    const report = await backfillMediaJobs({ variants: store, objects, mediaBucket: env.buckets.media }, values.org ? { orgId: values.org } : {});
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else if (!audit) {
    const report = await reconcile(
      { quotas: store, links: store, objects, buckets: env.buckets, defaultQuotaBytes: env.settings.orgQuotaBytes },
      { orgId: values.org!, apply: values.apply ?? false },
    );
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const report = await runOrphanAudit(
      {
        uploads: store,
        links: store,
        objects,
        buckets: env.buckets,
        stagingLifetimeSeconds: env.settings.presignTtlSeconds + env.settings.stagingGraceSeconds,
        maxUnknownPercent: env.settings.orphanAuditMaxUnknownPercent,
        log: stderrLog,
      },
      { delete: values.delete ?? false },
    );
    process.stdout.write(`${JSON.stringify(report)}\n`);
    if (report.circuitBreakerTripped) process.exitCode = 3;
  }
} finally {
  ioredis?.disconnect();
}
