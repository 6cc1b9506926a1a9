/**
 * The three adapters of the Redis-side ports (staging, signature tokens, quotas, linked objects),
 * built the way production builds them, for contract suites: in-memory, ioredis against a real
 * redis-server, and the real @upstash/redis client through the bridge onto the same redis-server.
 */
import { MemoryStore } from "@fitkit/core/adapters/memory/memory-store";
import { createIoredisClient, IoredisDriver } from "@fitkit/core/adapters/redis/ioredis-driver";
import { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { UpstashDriver } from "@fitkit/core/adapters/redis/upstash-driver";
import type { Redis } from "ioredis";
import { type RedisServer, startRedisServer } from "../../support/redis-server.js";
import { createUpstashTestClient, startUpstashBridge, type UpstashBridge } from "../../support/upstash-bridge.js";

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

  store(name: AdapterName): MemoryStore | RedisStore {
    switch (name) {
      case "memory":
        return new MemoryStore();
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
