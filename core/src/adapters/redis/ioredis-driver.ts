/** The ioredis driver (self-hosted Redis): EVALSHA with EVAL fallback over one TCP connection. */
import { Redis, ReplyError } from "ioredis";
import { DEFAULT_DEPENDENCY_TIMEOUT_MS } from "../../config.js";
import { DependencyUnavailableError } from "../../errors.js";
import { isNoScriptError, type LuaScript, type RedisScriptDriver } from "./driver.js";

export interface IoredisClientOptions {
  /** Connect timeout, and the longest one command may wait for its reply (→ 503). */
  timeoutMs: number;
}

/**
 * A client whose every command fails within `timeoutMs` when Redis is down or stalled (callers
 * answer 503). The offline queue stays on so the first command of a cold start waits for the
 * connection instead of failing — but no longer than the command timeout, which is armed when the
 * command is issued, queued or not — and nothing is retried on another connection.
 */
export function createIoredisClient(url: string, options: IoredisClientOptions = { timeoutMs: DEFAULT_DEPENDENCY_TIMEOUT_MS }): Redis {
  const client = new Redis(url, {
    connectTimeout: options.timeoutMs,
    commandTimeout: options.timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  });
  // Connection errors reach callers through the failing command (→ 503); the event is not news.
  client.on("error", () => undefined);
  return client;
}

export class IoredisDriver implements RedisScriptDriver {
  constructor(private readonly client: Redis) {}

  async run(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    try {
      try {
        return await this.client.evalsha(script.sha1, keys.length, ...keys, ...args);
      } catch (error) {
        if (!isNoScriptError(error)) throw error;
        return await this.client.eval(script.source, keys.length, ...keys, ...args);
      }
    } catch (error) {
      // A ReplyError is Redis answering (a script bug): let it surface as an internal error.
      if (error instanceof ReplyError) throw error;
      throw new DependencyUnavailableError("redis", { cause: error });
    }
  }
}
