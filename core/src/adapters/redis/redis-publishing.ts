/**
 * The publishing area on Redis (publishing-scripts.ts; its in-memory twin is
 * memory/memory-publishing.ts): an org's published items, recorded only while their upload is
 * linked to it, their renditions' bytes counted in `used`.
 */
import { type PublishedItem, type PublishedMedia, publishedBytesOf } from "../../publishing/published-media.js";
import type { ObjectRef } from "../../quotas/linked-objects.js";
import * as scripts from "./publishing-scripts.js";
import { listOf, type RedisAreaBase } from "./redis-area.js";
import { redisKeys } from "./redis-keys.js";

export const RedisPublishing = <B extends RedisAreaBase>(Base: B) =>
  class RedisPublishing extends Base implements PublishedMedia {
    async publishedItem(orgId: string, key: string): Promise<PublishedItem | null> {
      const reply = await this.run<{ items: string[] | Record<string, never> }>(scripts.GET_PUBLISHED, [redisKeys.published(orgId)], [key]);
      const raw = listOf(reply.items)[0];
      return raw ? (JSON.parse(raw) as PublishedItem) : null;
    }

    async publishedItems(orgId: string): Promise<PublishedItem[]> {
      const reply = await this.run<{ items: string[] | Record<string, never> }>(scripts.GET_PUBLISHED, [redisKeys.published(orgId)], [""]);
      const items = listOf(reply.items).map((raw) => JSON.parse(raw) as PublishedItem);
      return items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }

    async recordPublished(
      object: ObjectRef & { orgId: string },
      item: PublishedItem,
    ): Promise<{ linked: boolean; recorded: boolean; item: PublishedItem | null }> {
      const reply = await this.run<{ linked: boolean; recorded: boolean; item: string }>(
        scripts.RECORD_PUBLISHED,
        [redisKeys.published(object.orgId), redisKeys.linked(object.bucket, object.key), redisKeys.quota(object.orgId)],
        [object.orgId, object.key, JSON.stringify(item), String(publishedBytesOf(item))],
      );
      return { linked: reply.linked, recorded: reply.recorded, item: reply.item === "" ? null : (JSON.parse(reply.item) as PublishedItem) };
    }

    async removePublished(orgId: string, key: string): Promise<PublishedItem | null> {
      const reply = await this.run<{ item: string }>(scripts.REMOVE_PUBLISHED, [redisKeys.published(orgId), redisKeys.quota(orgId)], [key]);
      return reply.item === "" ? null : (JSON.parse(reply.item) as PublishedItem);
    }
  };
