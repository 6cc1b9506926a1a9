/**
 * Reconciliation: recompute an organisation's `used` bytes from a storage listing (the objects that
 * are linked to a parent) and report how far the counter has drifted; optionally correct it.
 * Run it when the org is quiet: a consume or release during the listing can make the result stale.
 */
import { RECORDS_PREFIX } from "../policies/object-keys.js";
import type { Buckets } from "../storage/buckets.js";
import type { ObjectStore } from "../storage/object-store.js";
import type { LinkedObjects } from "./linked-objects.js";
import type { QuotaLedger } from "./quota-ledger.js";

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

export interface ReconcileDeps {
  quotas: Pick<QuotaLedger, "usage" | "setUsed">;
  links: Pick<LinkedObjects, "linkedObjects">;
  objects: Pick<ObjectStore, "list">;
  /** The upload buckets and the retained records' own bucket. */
  buckets: Buckets & { records: string };
  defaultQuotaBytes: number;
}

export async function reconcile(deps: ReconcileDeps, request: { orgId: string; apply: boolean }): Promise<ReconcileReport> {
  const { used: usedCounter } = await deps.quotas.usage(request.orgId, deps.defaultQuotaBytes);
  let usedFromStorage = 0;
  let linkedObjects = 0;
  let unlinkedObjects = 0;
  const prefixes = [
    { bucket: deps.buckets.media, prefix: `${request.orgId}/` },
    { bucket: deps.buckets.records, prefix: `${RECORDS_PREFIX}${request.orgId}/` },
  ];
  for (const { bucket, prefix } of prefixes) {
    for await (const page of deps.objects.list(bucket, prefix)) {
      const linked = await deps.links.linkedObjects(page.map((o) => ({ bucket, key: o.key })));
      page.forEach((object, i) => {
        if (linked[i]?.orgId === request.orgId) {
          usedFromStorage += object.size;
          linkedObjects += 1;
        } else unlinkedObjects += 1;
      });
    }
  }
  const difference = usedFromStorage - usedCounter;
  if (request.apply && difference !== 0) await deps.quotas.setUsed(request.orgId, usedFromStorage);
  return { orgId: request.orgId, usedCounter, usedFromStorage, difference, linkedObjects, unlinkedObjects, applied: request.apply && difference !== 0 };
}
