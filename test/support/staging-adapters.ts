/**
 * The three adapters of the Redis-side ports (staging, signature tokens, quotas, linked objects),
 * built the way production builds them, for contract suites: in-memory, ioredis against a real
 * redis-server, and the real @upstash/redis client through the bridge onto the same redis-server.
 */
import { MemoryStore } from "@fitkit/core/adapters/memory/memory-store";
import { createIoredisClient, IoredisDriver } from "@fitkit/core/adapters/redis/ioredis-driver";
import { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { UpstashDriver } from "@fitkit/core/adapters/redis/upstash-driver";
import { ManualClock } from "@fitkit/core/time/clock";
import type { Redis } from "ioredis";
import { type RedisServer, startRedisServer } from "../../support/redis-server.js";
import { createUpstashTestClient, startUpstashBridge, type UpstashBridge } from "../../support/upstash-bridge.js";
import { sleep } from "./fixtures.js";

export type AdapterName = "memory" | "ioredis" | "upstash";
export const ADAPTERS: AdapterName[] = ["memory", "ioredis", "upstash"];

export interface StagingAdapterFixture {
  name: AdapterName;
  store: MemoryStore | RedisStore;
  close(): Promise<void>;
}

/** Shared per test file: one redis-server and one bridge serve both Redis adapters. */
export class RedisBackends {
  redis!: RedisServer;
  bridge!: UpstashBridge;
  private clients: Redis[] = [];

  async start(): Promise<void> {
    this.redis = await startRedisServer();
    this.bridge = await startUpstashBridge({ redisUrl: this.redis.url });
  }

  /** The in-memory adapter's time: it moves when a test waits, instead of the test sleeping. */
  readonly memoryClock = new ManualClock();

  /**
   * Lets `ms` of store time pass for `name`: the memory adapter's clock is moved at once; Redis
   * keeps its own time (TIME in the scripts, key expiry), so the Redis adapters really wait.
   */
  async wait(name: AdapterName, ms: number): Promise<void> {
    if (name === "memory") this.memoryClock.advance(ms);
    else await sleep(ms);
  }

  store(name: AdapterName): MemoryStore | RedisStore {
    switch (name) {
      case "memory":
        return new MemoryStore(this.memoryClock);
      case "ioredis": {
        const client = createIoredisClient(this.redis.url);
        this.clients.push(client);
        return new RedisStore(new IoredisDriver(client));
      }
      case "upstash":
        return new RedisStore(new UpstashDriver(createUpstashTestClient(this.bridge)));
    }
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.disconnect();
    await this.bridge?.close();
    await this.redis?.close();
  }
}
