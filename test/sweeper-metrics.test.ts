/**
 * The deployed sweeper reports its backlog as CloudWatch metrics (embedded metric format in its
 * log), with the names and dimensions the alarms watch (functions/lib/sweeper-metrics.ts) — on real
 * Redis and the embedded S3 server, through the handler the schedule invokes.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createIoredisClient, IoredisDriver } from "@fitkit/core/adapters/redis/ioredis-driver";
import { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import type { Context } from "aws-lambda";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCHEDULED_EVENT } from "../functions/lib/scheduled-event.js";
import { SWEEPER_METRICS } from "../functions/lib/sweeper-metrics.js";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { resourceVariables } from "../local/env.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { newUpload, uniqueId } from "./support/fixtures.js";

const MEDIA = "media-metrics";
let redis: RedisServer;
let client: Redis;
let s3: EmbeddedS3;
let sweeper: typeof import("../functions/sweeper.js").handler;

beforeAll(async () => {
  [redis, s3] = await Promise.all([
    startRedisServer(),
    mkdtemp(join(tmpdir(), "fitkit-s3-")).then((directory) => startEmbeddedS3({ directory, buckets: [MEDIA, "compliance-metrics"] })),
  ]);
  client = createIoredisClient(redis.url);
  const r2 = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  Object.assign(
    process.env,
    resourceVariables({
      App: { name: "fitkit-uploads", stage: "metrics-stage" },
      MediaBucket: { name: MEDIA },
      ComplianceBucket: { name: "compliance-metrics" },
      R2MediaWriter: r2,
      R2ComplianceWriter: r2,
      Redis: { url: redis.url },
      UploadSettings: {},
      MediaQueue: { kind: "in-process" },
    }),
  );
  ({ handler: sweeper } = await import("../functions/sweeper.js"));
});
afterAll(async () => {
  client?.disconnect();
  await redis?.close();
  await s3?.close();
});

/** Runs `action`, returning the EMF documents written to stdout meanwhile. */
async function emfDuring(action: () => Promise<unknown>): Promise<Record<string, any>[]> {
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(String(chunk));
    return (write as (...args: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    await action();
  } finally {
    process.stdout.write = write;
  }
  return lines
    .flatMap((text) => text.split("\n"))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line));
}

describe("the sweeper's metrics", () => {
  it("report the overdue uploads a run left, their age and the failures, under the alarms' namespace and this stage", async () => {
    // 1001 overdue uploads and no time after the first batch of 1000: one is left for the next run.
    const orgId = uniqueId("org");
    const uploads = Array.from({ length: 1001 }, () => newUpload({ orgId, bucket: MEDIA, contentType: "image/png", size: 10 }));
    const store = new RedisStore(new IoredisDriver(client));
    for (let i = 0; i < uploads.length; i += 1000) {
      expect((await store.stage({ uploads: uploads.slice(i, i + 1000), lifetimeSeconds: 0, quota: { orgId, defaultQuotaBytes: 1e15 } })).ok).toBe(true);
    }
    // Time for the invocation as it starts (middy reads it), none left after the first batch (sweep reads it).
    let clockReads = 0;
    const remaining = () => (clockReads++ === 0 ? 30_000 : 0);
    const context = { awsRequestId: "r", functionName: "sweeper", getRemainingTimeInMillis: remaining } as unknown as Context;

    const [emf, ...more] = await emfDuring(() => sweeper(SCHEDULED_EVENT, context));

    expect(more).toEqual([]);
    expect(emf?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: SWEEPER_METRICS.namespace,
        Dimensions: expect.any(Array),
        Metrics: expect.arrayContaining([
          { Name: SWEEPER_METRICS.remaining, Unit: "Count" },
          { Name: SWEEPER_METRICS.oldestOverdueSeconds, Unit: "Seconds" },
          { Name: SWEEPER_METRICS.failed, Unit: "Count" },
        ]),
      },
    ]);
    // CloudWatch matches an alarm to a metric only on the exact dimension set: the alarms use these two.
    expect(emf?._aws.CloudWatchMetrics[0].Dimensions.map((set: string[]) => [...set].sort())).toEqual([["service", "stage"]]);
    expect({ service: emf?.service, stage: emf?.stage, remaining: emf?.[SWEEPER_METRICS.remaining], failed: emf?.[SWEEPER_METRICS.failed] }).toEqual({
      service: "sweeper",
      stage: "metrics-stage",
      remaining: 1,
      failed: 0,
    });
  });
});
