/** The quota counters for this container: kept by the staging store's instance (staging moves bytes between them atomically). */
import type { QuotaLedger } from "@fitkit/core/quotas/quota-ledger";
import { stagingStore } from "./staging-store.js";

export const quotaLedger = (): Promise<QuotaLedger> => stagingStore();
