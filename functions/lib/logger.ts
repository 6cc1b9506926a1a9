/** One structured JSON logger per container (Powertools), with the request id injected per call. */
import { Logger } from "@aws-lambda-powertools/logger";

export const logger = new Logger({ serviceName: "fitkit-uploads" });
