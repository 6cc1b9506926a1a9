/**
 * The Upstash driver (production): the same scripts over Upstash's HTTP API. The client must be
 * created with `automaticDeserialization: false` — our scripts answer JSON strings we decode
 * ourselves, and the default would turn strings like "123" or "null" into other values.
 */
import { Redis } from "@upstash/redis";
import { DEFAULT_DEPENDENCY_TIMEOUT_MS } from "../../config.js";
import { DependencyUnavailableError } from "../../errors.js";
import { isNoScriptError, type LuaScript, type RedisScriptDriver } from "./driver.js";

/**
 * Redis answered with a command error (a bug on our side), as opposed to being unreachable. The
 * client words it "ERR …, command was: …" or, auto-pipelined, "Command failed: ERR …".
 */
const isCommandError = (error: unknown): boolean => error instanceof Error && error.name === "UpstashError" && /(^|: )(ERR|WRONGTYPE)\b/.test(error.message);

export interface UpstashClientOptions {
  /** The longest one command (all of its retries included) may take before it fails (→ 503). */
  timeoutMs: number;
}

/**
 * The Upstash client as this driver needs it: our own decoding, no telemetry, and a bound on
 * every request. The signal must be a function — a fresh `AbortSignal.timeout` per request; with a
 * fixed signal the client answers an aborted request with a made-up result instead of throwing.
 * It covers the request's retries too (the client asks for the signal once per request).
 */
export function createUpstashClient(
  connection: { url: string; token: string },
  options: UpstashClientOptions = { timeoutMs: DEFAULT_DEPENDENCY_TIMEOUT_MS },
): Redis {
  return new Redis({
    url: connection.url,
    token: connection.token,
    automaticDeserialization: false,
    enableTelemetry: false,
    // Retries only network errors, within the same deadline.
    retry: { retries: 2, backoff: (attempt) => 50 * 2 ** attempt },
    signal: () => AbortSignal.timeout(options.timeoutMs),
  });
}

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
