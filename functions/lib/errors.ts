/**
 * The one error mapper: anything thrown → the error body of docs/API.md. Domain errors keep their code;
 * zod errors become 400 with their issues; anything else is logged and answered as a generic 500.
 */
import { type ErrorBody, InvalidRequestError, toUploadError, type UploadError } from "@fitkit/core/errors";
import { ZodError } from "zod";
import { logger } from "./logger.js";

export function invalidRequestFrom(error: ZodError): InvalidRequestError {
  return new InvalidRequestError(
    "The request does not match the schema.",
    error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message })),
  );
}

/** Maps and logs an error; never exposes a stack or upstream text. */
export function mapError(error: unknown): UploadError {
  const mapped = error instanceof ZodError ? invalidRequestFrom(error) : toUploadError(error);
  if (mapped.code === "INTERNAL") logger.error("unhandled error", { error: error as Error });
  else if (mapped.code === "DEPENDENCY_UNAVAILABLE")
    logger.error("dependency unavailable", { code: mapped.code, error: (error as UploadError).cause as Error });
  else logger.info("request refused", { code: mapped.code, details: mapped.details });
  return mapped;
}

export type { ErrorBody };
