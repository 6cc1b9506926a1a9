/**
 * The staging store for this container, from `Resource.Redis`: Upstash in production
 * (restUrl + restToken), ioredis for a self-hosted Redis (url; it is in every bundle, but behind a
 * dynamic import, so only then initialised), or the in-memory store only when the link says
 * `kind: "memory"` explicitly (the local stack's single process). Missing settings fail the cold
 * start with a ConfigError naming them. Every Redis call is bounded by `dependencyTimeoutMs`.
 */
import { MemoryStore } from "@fitkit/core/adapters/memory/memory-store";
import { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { createUpstashClient, UpstashDriver } from "@fitkit/core/adapters/redis/upstash-driver";
import { ConfigError } from "@fitkit/core/config";
import type { MediaVariants } from "@fitkit/core/media/media-variants";
import type { PublishedMedia } from "@fitkit/core/publishing/published-media";
import type { LinkedObjects } from "@fitkit/core/quotas/linked-objects";
import type { QuotaLedger } from "@fitkit/core/quotas/quota-ledger";
import type { SignatureTokens } from "@fitkit/core/signatures/signature-tokens";
import type { StagingStore } from "@fitkit/core/staging/staging-store";
import { lazy } from "../lazy.js";
import { readLinked } from "../resources.js";
import { dependencyTimeout } from "./settings.js";

/** One instance serves every Redis-side port (see the accessors beside this file). */
export const stagingStore = lazy(async (): Promise<StagingStore & SignatureTokens & QuotaLedger & LinkedObjects & MediaVariants & PublishedMedia> => {
  const redis = readLinked("Redis", "Redis");
  if (redis.restUrl && redis.restToken) {
    return new RedisStore(new UpstashDriver(createUpstashClient({ url: redis.restUrl, token: redis.restToken }, dependencyTimeout())));
  }
  if (redis.url) {
    const { createIoredisClient, IoredisDriver } = await import("@fitkit/core/adapters/redis/ioredis-driver");
    return new RedisStore(new IoredisDriver(createIoredisClient(redis.url, dependencyTimeout())));
  }
  if (redis.kind === "memory") return new MemoryStore();
  // Unreachable (readLinked refuses a link with none of the above); no path may end in memory by default.
  throw new ConfigError("Resource.Redis: no Redis configured");
});
