/**
 * The two Redis drivers tell a bug from an outage the same way: a script error is thrown as it is
 * (→ 500 INTERNAL), an unreachable Redis is DependencyUnavailableError (→ 503). Real redis-server,
 * real clients (Upstash through the bridge, with its default auto-pipelining).
 */
import { luaScript, type RedisScriptDriver } from "@fitkit/core/adapters/redis/driver";
import { createIoredisClient, IoredisDriver } from "@fitkit/core/adapters/redis/ioredis-driver";
import { UpstashDriver } from "@fitkit/core/adapters/redis/upstash-driver";
import { DependencyUnavailableError } from "@fitkit/core/errors";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { createUpstashTestClient, startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.js";

let redis: RedisServer;
let bridge: UpstashBridge;
let ioredis: Redis;
const drivers: Record<string, () => RedisScriptDriver> = {
  ioredis: () => new IoredisDriver(ioredis),
  upstash: () => new UpstashDriver(createUpstashTestClient(bridge)),
};

beforeAll(async () => {
  redis = await startRedisServer();
  bridge = await startUpstashBridge({ redisUrl: redis.url });
  ioredis = createIoredisClient(redis.url);
});
afterAll(async () => {
  ioredis?.disconnect();
  await bridge?.close();
  await redis?.close();
});

const ok = luaScript("ok", "return cjson.encode({ value = ARGV[1] })");
const broken = luaScript("broken", "return cjson.decode('{not json')");

describe.each(Object.keys(drivers))("%s driver", (name) => {
  it("runs a script by SHA, loading it first when Redis does not know it", async () => {
    const driver = drivers[name]!();
    expect(JSON.parse(String(await driver.run(ok, [], ["123"])))).toEqual({ value: "123" });
    expect(JSON.parse(String(await driver.run(ok, [], ["null"])))).toEqual({ value: "null" });
  });

  it("throws a script error as it is — a bug, not an outage", async () => {
    const failure = await drivers[name]!()
      .run(broken, [], [])
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(DependencyUnavailableError);
    expect(String(failure)).toMatch(/ERR/);
  });
});

describe("Redis unreachable", () => {
  it("both drivers answer DependencyUnavailableError", async () => {
    await redis.stop();
    try {
      for (const name of Object.keys(drivers)) {
        await expect(drivers[name]!().run(ok, [], ["x"])).rejects.toBeInstanceOf(DependencyUnavailableError);
      }
    } finally {
      await redis.start();
    }
  });
});
