/** Internal `erase-user` — erases one member's uploads in one org, in bounded batches, and answers a receipt once done. */
import { eraseUser, eraseUserRequestSchema } from "@fitkit/core/erasure/erase";
import { eraseDeps } from "./lib/deps/erasure-deps.js";
import { internalOperation } from "./lib/internal.js";

export const handler = internalOperation(eraseUserRequestSchema, async (request, context) => eraseUser(await eraseDeps(context, "user"), request));
