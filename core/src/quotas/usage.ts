/** An organisation's storage counters: bytes linked (`used`), bytes staged (`reserved`), and its quota. */
import * as z from "zod";
import { safeId } from "../policies/request-fields.js";
import type { QuotaLedger, QuotaUsage } from "./quota-ledger.js";

export const usageRequestSchema = z.object({ orgId: safeId });
export type UsageRequest = z.output<typeof usageRequestSchema>;

export interface UsageDeps {
  quotas: Pick<QuotaLedger, "usage">;
  defaultQuotaBytes: number;
}

export function getUsage(deps: UsageDeps, request: UsageRequest): Promise<QuotaUsage> {
  return deps.quotas.usage(request.orgId, deps.defaultQuotaBytes);
}
