/** Internal `set-quota` — override an organisation's storage quota. */
import { setQuota, setQuotaRequestSchema } from "@fitkit/core/quotas/set-quota";
import { quotaLedger } from "./lib/deps/quota-ledger.js";
import { internalOperation } from "./lib/internal.js";

export const handler = internalOperation(setQuotaRequestSchema, async (request) => setQuota({ quotas: await quotaLedger() }, request));
