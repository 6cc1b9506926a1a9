/** Internal `set-quota` — override an organisation's storage quota. */
import { setQuota, setQuotaRequestSchema } from "@fitkit/core/quotas/set-quota";
import { stagingStore } from "./lib/deps/staging-store.js";
import { internalOperation } from "./lib/internal.js";

export const handler = internalOperation(setQuotaRequestSchema, async (request) => setQuota({ store: await stagingStore() }, request));
