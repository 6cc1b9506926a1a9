/**
 * Structured JSON logging (Powertools), with the invocation's context (function name, request id,
 * cold start) on every line.
 *
 * Each invocation logs through its own child logger, found through AsyncLocalStorage: the local
 * stack runs many invocations of several functions in one process at once, and one shared logger
 * whose context each invocation overwrites would put lines under the wrong function and request.
 * In Lambda a container runs one invocation at a time, so there this changes nothing. The child is
 * made on the invocation's first line only: most requests log nothing, and building a Powertools
 * logger (with its own Console) for each was a measurable share of a request's CPU.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { Logger } from "@aws-lambda-powertools/logger";
import type { ConstructorOptions, LogItemExtraInput, LogItemMessage } from "@aws-lambda-powertools/logger/types";
import type { Log } from "@fitkit/core/logging";
import type { Context } from "aws-lambda";

let coldStart = true;
/** The cold-start flag of the child being made now (its invocation's, taken when the invocation began). */
let childColdStart = false;

/** Powertools keeps the cold-start flag per logger instance; here it belongs to the container's first invocation. */
class ContainerLogger extends Logger {
  protected override getColdStart(): boolean {
    return childColdStart;
  }

  protected override createLogger(options?: ConstructorOptions): Logger {
    return new ContainerLogger(options);
  }
}

/** The container's logger: lines outside any invocation (cold start) and the parent of each invocation's. */
const containerLogger = new ContainerLogger({ serviceName: "fitkit-uploads" });

interface Invocation {
  context: Context;
  coldStart: boolean;
  logger?: Logger;
}
const invocations = new AsyncLocalStorage<Invocation>();

const current = (): Logger => {
  const invocation = invocations.getStore();
  if (!invocation) return containerLogger;
  if (!invocation.logger) {
    childColdStart = invocation.coldStart;
    const child = containerLogger.createChild();
    child.addContext(invocation.context);
    invocation.logger = child;
  }
  return invocation.logger;
};

/** Runs one invocation with its own logger (made on its first line) carrying `context`; keys it appends end with it. */
export function withLogContext<T>(context: Context, run: () => Promise<T>): Promise<T> {
  const first = coldStart;
  coldStart = false;
  return invocations.run({ context, coldStart: first }, run);
}

/** The logger of the invocation running now (or the container's, outside one). */
export const logger = {
  debug: (input: LogItemMessage, ...extra: LogItemExtraInput): void => current().debug(input, ...extra),
  info: (input: LogItemMessage, ...extra: LogItemExtraInput): void => current().info(input, ...extra),
  warn: (input: LogItemMessage, ...extra: LogItemExtraInput): void => current().warn(input, ...extra),
  error: (input: LogItemMessage, ...extra: LogItemExtraInput): void => current().error(input, ...extra),
};

/** The same logger through core's small Log port. */
export const coreLog: Log = {
  info: (message, fields) => logger.info(message, { ...fields }),
  warn: (message, fields) => logger.warn(message, { ...fields }),
  error: (message, fields) => logger.error(message, { ...fields }),
};
