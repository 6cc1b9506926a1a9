/**
 * Internal operations (Lambda invoke from other services; `POST /internal/<name>` on the local
 * stack). Payload and result are the same JSON in both transports; an error is returned as the
 * `{ error }` object, not thrown.
 */
import type { ErrorBody } from "@fitkit/core/errors";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import type { z } from "zod";
import { invalidRequestFrom, mapError } from "./errors.js";
import { withLogContext } from "./logger.js";
import { TIME_LIMIT } from "./time-limit.js";

export type InternalResult<T> = T | ErrorBody;

export type InternalHandler<T> = (payload: unknown, context: Context) => Promise<InternalResult<T>>;

export function internalOperation<S extends z.ZodType, T>(schema: S, run: (input: z.output<S>, context: Context) => Promise<T>): InternalHandler<T> {
  const handler = middy<unknown, InternalResult<T>>(TIME_LIMIT)
    .use({
      onError: async (request) => {
        request.response = mapError(request.error).toBody();
      },
    })
    .handler(async (payload, context) => {
      const parsed = schema.safeParse(payload);
      if (!parsed.success) throw invalidRequestFrom(parsed.error);
      return run(parsed.data, context);
    });
  return (payload, context) => withLogContext(context, () => handler(payload, context));
}
