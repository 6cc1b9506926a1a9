/**
 * The local stack's variables: REDIS_URL or the Upstash pair put the staging state in that Redis
 * (the same code a deployed function runs), and a bad value stops the stack naming the variable.
 */
import { spawnSync } from "node:child_process";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack } from "../support/local-stack.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.js";
import { uniqueId } from "./support/fixtures.js";
import { postJson } from "./support/http.js";

let redis: RedisServer;
let bridge: UpstashBridge;
let admin: Redis;

beforeAll(async () => {
  redis = await startRedisServer();
  bridge = await startUpstashBridge({ redisUrl: redis.url });
  admin = new Redis(redis.url);
});
afterAll(async () => {
  admin?.disconnect();
  await bridge?.close();
  await redis?.close();
});

describe.each([
  ["REDIS_URL (ioredis)", () => ({ REDIS_URL: redis.url })],
  ["UPSTASH_REDIS_REST_URL + TOKEN (@upstash/redis)", () => ({ UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token })],
])("the local stack with %s", (_name, env) => {
  it("keeps staging records and quota counters in that Redis", async () => {
    const stack = await startLocalStack(env());
    try {
      const orgId = uniqueId("org");
      const userId = uniqueId("user");
      const token = await stack.token({ userId, orgId, role: "member" });

      const presigned = await postJson(`${stack.api}/uploads`, { ownerType: "message", files: [{ contentType: "image/png", size: 123 }] }, token);

      expect(presigned.status).toBe(201);
      const record = JSON.parse((await admin.get(`{fku}:upload:${presigned.body.uploads[0].uploadId}`))!);
      expect(record).toMatchObject({ orgId, status: "staged", size: 123 });
      expect(await admin.hgetall(`{fku}:quota:${orgId}`)).toEqual({ reserved: "123", [`inflight:${userId}`]: "123" });
    } finally {
      await stack.close();
    }
  }, 60_000);
});

describe("bad configuration", () => {
  it.each([
    [{ PRESIGN_TTL_SECONDS: "ten" }, "PRESIGN_TTL_SECONDS"],
    [{ ORG_QUOTA_BYTES: "-5" }, "ORG_QUOTA_BYTES"],
    [{ REDIS_URL: "http://not-redis" }, "REDIS_URL"],
    [{ PORT: "70000" }, "PORT"],
    [{ R2_BUCKET_NAME: "Bad_Name" }, "R2_BUCKET_NAME"],
  ])("stops the stack with a message naming the variable (%o)", (env, variable) => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "local/main.ts"], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 30_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(variable);
    expect(run.stdout).not.toContain('"ready"');
  });
});
