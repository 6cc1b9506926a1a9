/**
 * The staging store for this container, from `Resource.Redis`: Upstash in production
 * (restUrl + restToken), ioredis for a self-hosted Redis (url; loaded only then — bundles keep it
 * external), or the in-memory store only when the link says `kind: "memory"` explicitly (the local
 * stack's single process). Missing settings fail the cold start with a ConfigError naming them.
 */

import { MemoryStagingStore } from "@fitkit/core/adapters/memory/memory-staging-store";
import { RedisStagingStore } from "@fitkit/core/adapters/redis/redis-staging-store";
import { UpstashDriver } from "@fitkit/core/adapters/redis/upstash-driver";
import { ConfigError } from "@fitkit/core/config";
import type { StagingStore } from "@fitkit/core/staging/staging-store";
import { Redis as UpstashRedis } from "@upstash/redis";
import { lazy } from "../lazy.js";
import { readLinked } from "../resources.js";

export const stagingStore = lazy(async (): Promise<StagingStore> => {
  const redis = readLinked("Redis", "Redis");
  if (redis.restUrl && redis.restToken) {
    const client = new UpstashRedis({ url: redis.restUrl, token: redis.restToken, automaticDeserialization: false, enableTelemetry: false });
    return new RedisStagingStore(new UpstashDriver(client));
  }
  if (redis.url) {
    const { createIoredisClient, IoredisDriver } = await import("@fitkit/core/adapters/redis/ioredis-driver");
    return new RedisStagingStore(new IoredisDriver(createIoredisClient(redis.url)));
  }
  if (redis.kind === "memory") return new MemoryStagingStore();
  // Unreachable (readLinked refuses a link with none of the above); no path may end in memory by default.
  throw new ConfigError("Resource.Redis: no Redis configured");
});
