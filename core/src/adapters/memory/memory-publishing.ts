/**
 * The publishing area in memory (the twin of redis/redis-publishing.ts): an org's published items,
 * recorded only while their upload is linked to it, their renditions' bytes counted in `used`.
 */
import { type PublishedItem, type PublishedMedia, publishedBytesOf } from "../../publishing/published-media.js";
import type { ObjectRef } from "../../quotas/linked-objects.js";
import { clone, linkId, type MemoryStateBase } from "./memory-state.js";

const publishedId = (orgId: string, key: string): string => `${orgId}\u0000${key}`;

export const MemoryPublishing = <B extends MemoryStateBase>(Base: B) =>
  class MemoryPublishing extends Base implements PublishedMedia {
    async publishedItem(orgId: string, key: string): Promise<PublishedItem | null> {
      const item = this.published.get(publishedId(orgId, key));
      return item ? clone(item) : null;
    }

    async publishedItems(orgId: string): Promise<PublishedItem[]> {
      const prefix = publishedId(orgId, "");
      return [...this.published.entries()]
        .filter(([id]) => id.startsWith(prefix))
        .map(([, item]) => clone(item))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }

    async recordPublished(
      object: ObjectRef & { orgId: string },
      item: PublishedItem,
    ): Promise<{ linked: boolean; recorded: boolean; item: PublishedItem | null }> {
      if (this.linked.get(linkId(object))?.orgId !== object.orgId) return { linked: false, recorded: false, item: null };
      const id = publishedId(object.orgId, object.key);
      const existing = this.published.get(id);
      if (existing) return { linked: true, recorded: false, item: clone(existing) };
      this.published.set(id, clone(item));
      this.counters(object.orgId).used += publishedBytesOf(item);
      return { linked: true, recorded: true, item: clone(item) };
    }

    async removePublished(orgId: string, key: string): Promise<PublishedItem | null> {
      const id = publishedId(orgId, key);
      const item = this.published.get(id);
      if (!item) return null;
      this.published.delete(id);
      const counters = this.counters(orgId);
      counters.used = Math.max(0, counters.used - publishedBytesOf(item));
      return item;
    }
  };
