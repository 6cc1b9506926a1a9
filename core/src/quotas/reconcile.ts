/**
 * Reconciliation: recompute an organisation's `used` bytes from a storage listing (the objects that
 * are linked to a parent) and report how far the counter has drifted; optionally correct it.
 * Run it when the org is quiet: a consume or release during the listing can make the result stale.
 */
import { RECORDS_PREFIX } from "../policies/object-keys.js";
import type { Buckets } from "../staging/buckets.js";
import type { StagingStore } from "../staging/staging-store.js";
import type { ObjectStore } from "../storage/object-store.js";

export interface ReconcileReport {
  orgId: string;
  /** The counter before reconciliation. */
  usedCounter: number;
  /** Bytes of the linked objects found in storage. */
  usedFromStorage: number;
  /** usedFromStorage − usedCounter. */
  difference: number;
  linkedObjects: number;
  /** Objects in the org's prefixes that are not linked (staged, or orphaned). */
  unlinkedObjects: number;
  applied: boolean;
}

export async function reconcile(
  deps: { store: Pick<StagingStore, "usage" | "linkedObjects" | "setUsed">; objects: Pick<ObjectStore, "list">; buckets: Buckets; defaultQuotaBytes: number },
  request: { orgId: string; apply: boolean },
): Promise<ReconcileReport> {
  const { used: usedCounter } = await deps.store.usage(request.orgId, deps.defaultQuotaBytes);
  let usedFromStorage = 0;
  let linkedObjects = 0;
  let unlinkedObjects = 0;
  const prefixes = [
    { bucket: deps.buckets.media, prefix: `${request.orgId}/` },
    { bucket: deps.buckets.compliance, prefix: `${RECORDS_PREFIX}${request.orgId}/` },
  ];
  for (const { bucket, prefix } of prefixes) {
    for await (const page of deps.objects.list(bucket, prefix)) {
      const linked = await deps.store.linkedObjects(page.map((o) => ({ bucket, key: o.key })));
      page.forEach((object, i) => {
        if (linked[i]?.orgId === request.orgId) {
          usedFromStorage += object.size;
          linkedObjects += 1;
        } else unlinkedObjects += 1;
      });
    }
  }
  const difference = usedFromStorage - usedCounter;
  if (request.apply && difference !== 0) await deps.store.setUsed(request.orgId, usedFromStorage);
  return { orgId: request.orgId, usedCounter, usedFromStorage, difference, linkedObjects, unlinkedObjects, applied: request.apply && difference !== 0 };
}
