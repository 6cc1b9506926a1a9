/**
 * The quotas area in memory (the twin of redis/redis-quotas.ts): an org's quota counters and the
 * linked objects whose sizes (and their variants') make up `used`.
 */
import type { LinkedObject, LinkedObjects, ObjectRef } from "../../quotas/linked-objects.js";
import type { QuotaLedger, QuotaUsage } from "../../quotas/quota-ledger.js";
import { clone, linkId, type MemoryStateBase, variantBytesOf } from "./memory-state.js";

export const MemoryQuotas = <B extends MemoryStateBase>(Base: B) =>
  class MemoryQuotas extends Base implements QuotaLedger, LinkedObjects {
    async linkedObjects(objects: ObjectRef[]): Promise<(LinkedObject | null)[]> {
      return objects.map((o) => {
        const linked = this.linked.get(linkId(o));
        if (!linked) return null;
        const media = this.media.get(linkId(o));
        return media?.status === "ready" ? { ...clone(linked), variantKeys: Object.values(media.variants).map((v) => v.key) } : clone(linked);
      });
    }

    async unlinkObjects(orgId: string, objects: ObjectRef[]): Promise<{ released: number; bytes: number }> {
      let released = 0;
      let bytes = 0;
      for (const o of objects) {
        const id = linkId(o);
        const linked = this.linked.get(id);
        if (linked?.orgId !== orgId) continue;
        const media = this.media.get(id);
        this.linked.delete(id);
        this.media.delete(id);
        released += 1;
        bytes += linked.size + (media ? variantBytesOf(media) : 0);
      }
      const counters = this.counters(orgId);
      counters.used = Math.max(0, counters.used - bytes);
      return { released, bytes };
    }

    async setQuota(orgId: string, quotaBytes: number): Promise<void> {
      this.counters(orgId).quota = quotaBytes;
    }

    async setUsed(orgId: string, usedBytes: number): Promise<void> {
      this.counters(orgId).used = usedBytes;
    }

    async usage(orgId: string, defaultQuotaBytes: number): Promise<QuotaUsage> {
      const { used, reserved, quota } = this.counters(orgId);
      return { used, reserved, quota: quota ?? defaultQuotaBytes };
    }

    async inFlightByUser(orgId: string): Promise<Record<string, number>> {
      return Object.fromEntries(this.counters(orgId).inFlight);
    }
  };
