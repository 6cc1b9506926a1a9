/**
 * The erasure port for this container, on the staging store's own Redis (or memory): the block an
 * erasure sets is read by that store's stage and commit steps, so both must be the same instance.
 */
import { MemoryErasures } from "@fitkit/core/adapters/memory/memory-erasures";
import { MemoryStore } from "@fitkit/core/adapters/memory/memory-store";
import { RedisErasures } from "@fitkit/core/adapters/redis/redis-erasures";
import type { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import type { Erasures } from "@fitkit/core/erasure/erasure-store";
import { lazy } from "../lazy.js";
import { stagingStore } from "./staging-store.js";

export const erasures = lazy(async (): Promise<Erasures> => {
  const store = await stagingStore();
  return store instanceof MemoryStore ? new MemoryErasures(store) : new RedisErasures((store as RedisStore).redis);
});
