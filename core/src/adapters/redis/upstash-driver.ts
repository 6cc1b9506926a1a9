/**
 * The Upstash driver (production): the same scripts over Upstash's HTTP API. The client must be
 * created with `automaticDeserialization: false` — our scripts answer JSON strings we decode
 * ourselves, and the default would turn strings like "123" or "null" into other values.
 */
import type { Redis } from "@upstash/redis";
import { DependencyUnavailableError } from "../../errors.js";
import { isNoScriptError, type LuaScript, type RedisScriptDriver } from "./driver.js";

/**
 * Redis answered with a command error (a bug on our side), as opposed to being unreachable. The
 * client words it "ERR …, command was: …" or, auto-pipelined, "Command failed: ERR …".
 */
const isCommandError = (error: unknown): boolean => error instanceof Error && error.name === "UpstashError" && /(^|: )(ERR|WRONGTYPE)\b/.test(error.message);

export class UpstashDriver implements RedisScriptDriver {
  constructor(private readonly client: Redis) {}

  async run(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    try {
      try {
        return await this.client.evalsha(script.sha1, keys, args);
      } catch (error) {
        if (!isNoScriptError(error)) throw error;
        return await this.client.eval(script.source, keys, args);
      }
    } catch (error) {
      if (isCommandError(error)) throw error;
      throw new DependencyUnavailableError("redis", { cause: error });
    }
  }
}
