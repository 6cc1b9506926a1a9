/** The ioredis driver (self-hosted Redis): EVALSHA with EVAL fallback over one TCP connection. */
import { Redis, ReplyError } from "ioredis";
import { DependencyUnavailableError } from "../../errors.js";
import { isNoScriptError, type LuaScript, type RedisScriptDriver } from "./driver.js";

/** A client that fails fast instead of queueing when Redis is down (callers answer 503). */
export function createIoredisClient(url: string): Redis {
  const client = new Redis(url, {
    connectTimeout: 2000,
    commandTimeout: 5000,
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
