/** One structured JSON logger per container (Powertools), with the request id injected per call. */
import { Logger } from "@aws-lambda-powertools/logger";
import type { Log } from "@fitkit/core/logging";

export const logger = new Logger({ serviceName: "fitkit-uploads" });

/** The same logger through core's small Log port. */
export const coreLog: Log = {
  info: (message, fields) => logger.info(message, { ...fields }),
  warn: (message, fields) => logger.warn(message, { ...fields }),
  error: (message, fields) => logger.error(message, { ...fields }),
};
