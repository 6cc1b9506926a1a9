/**
 * The one thing the Redis staging store needs from a client: run a Lua script atomically.
 * Two drivers implement it — ioredis (self-hosted Redis) and @upstash/redis (HTTP) — so both
 * adapters share the same scripts and the same store code.
 */
import { createHash } from "node:crypto";

export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

export function luaScript(name: string, source: string): LuaScript {
  return { name, source, sha1: createHash("sha1").update(source).digest("hex") };
}

export interface RedisScriptDriver {
  /**
   * EVALSHA, falling back to EVAL when the script is not cached. One round trip in the common
   * case. Throws DependencyUnavailableError("redis") when Redis cannot be reached.
   */
  run(script: LuaScript, keys: string[], args: string[]): Promise<unknown>;
}

export const isNoScriptError = (error: unknown): boolean => error instanceof Error && error.message.includes("NOSCRIPT");
