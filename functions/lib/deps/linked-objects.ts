/** Linked objects for this container: kept by the staging store's instance (consume links them atomically). */
import type { LinkedObjects } from "@fitkit/core/quotas/linked-objects";
import { stagingStore } from "./staging-store.js";

export const linkedObjects = (): Promise<LinkedObjects> => stagingStore();
