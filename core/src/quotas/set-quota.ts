/** Per-organisation quota overrides (ORG_QUOTA_BYTES is the default). */
import * as z from "zod";
import { safeId } from "../policies/request-fields.js";
import type { QuotaLedger } from "./quota-ledger.js";

export const setQuotaRequestSchema = z.object({
  orgId: safeId,
  quotaBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

export async function setQuota(
  deps: { quotas: Pick<QuotaLedger, "setQuota"> },
  request: z.output<typeof setQuotaRequestSchema>,
): Promise<{ orgId: string; quota: number }> {
  await deps.quotas.setQuota(request.orgId, request.quotaBytes);
  return { orgId: request.orgId, quota: request.quotaBytes };
}
