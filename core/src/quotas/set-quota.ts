/** Per-organisation quota overrides (ORG_QUOTA_BYTES is the default). */
import * as z from "zod";
import { safeId } from "../staging/schemas.js";
import type { StagingStore } from "../staging/staging-store.js";

export const setQuotaRequestSchema = z.object({
  orgId: safeId,
  quotaBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

export async function setQuota(
  deps: { store: Pick<StagingStore, "setQuota"> },
  request: z.output<typeof setQuotaRequestSchema>,
): Promise<{ orgId: string; quota: number }> {
  await deps.store.setQuota(request.orgId, request.quotaBytes);
  return { orgId: request.orgId, quota: request.quotaBytes };
}
