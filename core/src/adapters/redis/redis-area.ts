/**
 * What every Redis area builds on (redis-staging.ts, redis-multipart.ts, redis-quotas.ts,
 * redis-signatures.ts, redis-media.ts, redis-publishing.ts, redis-erasures.ts): the driver, a
 * `run` that decodes the one JSON string each script answers, and the read of linked markers that
 * more than one area decodes. RedisStore (redis-store.ts) composes the areas; each only lays out
 * keys and arguments and decodes replies.
 */
import type { MediaOutcome } from "../../media/media-variants.js";
import type { ObjectRef } from "../../quotas/linked-objects.js";
import type { MixinBase } from "../mixin.js";
import type { LuaScript, RedisScriptDriver } from "./driver.js";
import { redisKeys } from "./redis-keys.js";
import { GET_MANY } from "./shared-scripts.js";

export class RedisArea {
  /** `redis`: also the driver of the ports kept beside RedisStore on the same Redis (RedisErasures). */
  constructor(readonly redis: RedisScriptDriver) {}

  protected async run<T>(script: LuaScript, keys: string[], args: string[]): Promise<T> {
    const reply = await this.redis.run(script, keys, args);
    return JSON.parse(String(reply)) as T;
  }

  /** The linked markers of `objects` (null: not linked), in one round trip: the quotas and media areas read them. */
  protected async storedLinks(objects: ObjectRef[]): Promise<(StoredLink | null)[]> {
    if (objects.length === 0) return [];
    const values = await this.run<string[]>(
      GET_MANY,
      objects.map((o) => redisKeys.linked(o.bucket, o.key)),
      [],
    );
    return values.map((v) => (v === "" ? null : (JSON.parse(v) as StoredLink)));
  }
}

/** The class a Redis area mixin extends. */
export type RedisAreaBase = MixinBase<RedisArea>;

/** A list from a script's reply: cjson encodes an empty Lua table as `{}`, not `[]`. */
export const listOf = <T>(reply: T[] | Record<string, never>): T[] => (Array.isArray(reply) ? reply : []);

/** A link as stored by commit_consume (staging), with the outcome record_media (media) added. */
export interface StoredLink {
  orgId: string;
  size: number;
  media?: MediaOutcome & { variantBytes?: number };
}
