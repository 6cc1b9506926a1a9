/** Internal `erase-org` — erases every upload of an org (published minisite included); lists the records the lock keeps. */
import { eraseOrg, eraseOrgRequestSchema } from "@fitkit/core/erasure/erase";
import { eraseDeps } from "./lib/deps/erasure-deps.js";
import { internalOperation } from "./lib/internal.js";

export const handler = internalOperation(eraseOrgRequestSchema, async (request, context) => eraseOrg(await eraseDeps(context, "org"), request));
