/**
 * The middy settings every handler shares for running out of time. Dependencies are bounded
 * (`dependencyTimeoutMs`), but several bounded calls can still add up to the Lambda timeout; middy
 * then answers before Lambda kills the invocation. By default that answer is a generic error
 * (500 INTERNAL); here it is 503 DEPENDENCY_UNAVAILABLE, since the time went to waiting on one.
 */
import { DependencyUnavailableError } from "@fitkit/core/errors";

export const TIME_LIMIT = {
  /** Room left to log and reply before Lambda's own timeout. */
  timeoutEarlyInMillis: 500,
  timeoutEarlyResponse: (): never => {
    throw new DependencyUnavailableError("time");
  },
};
