/** An organisation's storage counters: bytes linked (`used`), bytes staged (`reserved`), and its quota. */
import * as z from "zod";
import { safeId } from "../policies/request-fields.js";
import type { QuotaLedger } from "./quota-ledger.js";

export const usageRequestSchema = z.object({ orgId: safeId });
export type UsageRequest = z.output<typeof usageRequestSchema>;

/** The reply of the internal `usage` (the ledger's `QuotaUsage` must fit it); documented, never parsed at run time. */
export const usageResponseSchema = z.object({
  used: z.number().int().min(0),
  reserved: z.number().int().min(0),
  quota: z.number().int().min(0),
});
export type UsageResponse = z.output<typeof usageResponseSchema>;

export interface UsageDeps {
  quotas: Pick<QuotaLedger, "usage">;
  defaultQuotaBytes: number;
}

export function getUsage(deps: UsageDeps, request: UsageRequest): Promise<UsageResponse> {
  return deps.quotas.usage(request.orgId, deps.defaultQuotaBytes);
}
