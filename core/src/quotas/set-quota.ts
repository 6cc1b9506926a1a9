/** Per-organisation quota overrides (ORG_QUOTA_BYTES is the default). */
import * as z from "zod";
import { safeId } from "../policies/request-fields.js";
import type { QuotaLedger } from "./quota-ledger.js";

export const setQuotaRequestSchema = z.object({
  orgId: safeId,
  quotaBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

/** The reply of the internal `set-quota`; documented, never parsed at run time. */
export const setQuotaResponseSchema = z.object({ orgId: z.string(), quota: z.number().int().min(0) });
export type SetQuotaResponse = z.output<typeof setQuotaResponseSchema>;

export async function setQuota(deps: { quotas: Pick<QuotaLedger, "setQuota"> }, request: z.output<typeof setQuotaRequestSchema>): Promise<SetQuotaResponse> {
  await deps.quotas.setQuota(request.orgId, request.quotaBytes);
  return { orgId: request.orgId, quota: request.quotaBytes };
}
