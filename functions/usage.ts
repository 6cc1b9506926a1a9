/** Internal `usage` — an organisation's used, reserved and quota bytes. */
import { getUsage, usageRequestSchema } from "@fitkit/core/quotas/usage";
import { quotaLedger } from "./lib/deps/quota-ledger.js";
import { uploadSettings } from "./lib/deps/settings.js";
import { internalOperation } from "./lib/internal.js";

export const handler = internalOperation(usageRequestSchema, async (request) =>
  getUsage({ quotas: await quotaLedger(), defaultQuotaBytes: uploadSettings().orgQuotaBytes }, request),
);
