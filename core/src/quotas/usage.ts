/** An organisation's storage counters: bytes linked (`used`), bytes staged (`reserved`), and its quota. */
import type { QuotaUsage, StagingStore } from "../staging/staging-store.js";

export interface UsageDeps {
  store: Pick<StagingStore, "usage">;
  defaultQuotaBytes: number;
}

export function getUsage(deps: UsageDeps, orgId: string): Promise<QuotaUsage> {
  return deps.store.usage(orgId, deps.defaultQuotaBytes);
}
