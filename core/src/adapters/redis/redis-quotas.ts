/**
 * The quotas area on Redis (quota-scripts.ts; its in-memory twin is memory/memory-quotas.ts): the
 * org's quota hash (used, reserved, quota, each user's bytes in flight) and the linked markers
 * whose sizes make up `used`.
 */
import type { LinkedObject, LinkedObjects, ObjectRef } from "../../quotas/linked-objects.js";
import type { QuotaLedger, QuotaUsage } from "../../quotas/quota-ledger.js";
import * as scripts from "./quota-scripts.js";
import type { RedisAreaBase, StoredLink } from "./redis-area.js";
import { redisKeys } from "./redis-keys.js";

const variantKeysOf = (media: StoredLink["media"]): string[] => (media?.status === "ready" ? Object.values(media.variants).map((v) => v.key) : []);

export const RedisQuotas = <B extends RedisAreaBase>(Base: B) =>
  class RedisQuotas extends Base implements QuotaLedger, LinkedObjects {
    async linkedObjects(objects: ObjectRef[]): Promise<(LinkedObject | null)[]> {
      return (await this.storedLinks(objects)).map((link) => {
        if (!link) return null;
        const { orgId, size, media } = link;
        const variantKeys = variantKeysOf(media);
        return variantKeys.length > 0 ? { orgId, size, variantKeys } : { orgId, size };
      });
    }

    async unlinkObjects(orgId: string, objects: ObjectRef[]): Promise<{ released: number; bytes: number }> {
      return this.run(scripts.UNLINK_OBJECTS, [redisKeys.quota(orgId), ...objects.map((o) => redisKeys.linked(o.bucket, o.key))], [orgId]);
    }

    async setQuota(orgId: string, quotaBytes: number): Promise<void> {
      await this.run(scripts.SET_QUOTA_FIELD, [redisKeys.quota(orgId)], ["quota", String(quotaBytes)]);
    }

    async setUsed(orgId: string, usedBytes: number): Promise<void> {
      await this.run(scripts.SET_QUOTA_FIELD, [redisKeys.quota(orgId)], ["used", String(usedBytes)]);
    }

    async usage(orgId: string, defaultQuotaBytes: number): Promise<QuotaUsage> {
      return this.run<QuotaUsage>(scripts.USAGE, [redisKeys.quota(orgId)], [String(defaultQuotaBytes)]);
    }

    async inFlightByUser(orgId: string): Promise<Record<string, number>> {
      // An empty Lua table encodes as `{}` — an empty record, as wanted.
      return this.run(scripts.IN_FLIGHT_BY_USER, [redisKeys.quota(orgId)], []);
    }
  };
