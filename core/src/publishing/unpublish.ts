/**
 * Unpublishing, and the checks publish shares with it: what a publishable key is, the public
 * bucket, deleting renditions and purging them from the edge cache. Kept apart from publish (which encodes images with sharp) so release
 * and unpublish carry no image codec — only the functions SST installs sharp for may load it.
 */
import * as z from "zod";
import { OWNER_TYPE_POLICIES, type OwnerType } from "../contract/catalog.js";
import { DependencyUnavailableError, ForbiddenError } from "../errors.js";
import { parseObjectKey } from "../policies/object-keys.js";
import { safeId } from "../policies/request-fields.js";
import type { ObjectStore } from "../storage/object-store.js";
import type { EdgeCache } from "./edge-cache.js";
import type { PublishedMedia } from "./published-media.js";

export const publishRequestSchema = z.object({ orgId: safeId, key: z.string().min(1).max(1024) });
export type PublishRequest = z.output<typeof publishRequestSchema>;
export const unpublishRequestSchema = publishRequestSchema;
export type UnpublishRequest = PublishRequest;
export const unpublishResponseSchema = z.object({ deleted: z.number().int().min(0) });

/** The public bucket and where it is served from. */
export interface PublicBucket {
  name: string;
  /** Public origin (and path) the bucket is served at; rendition keys are appended to it. */
  baseUrl: string;
  objects: Pick<ObjectStore, "head" | "put" | "deleteObjects">;
}

export interface UnpublishDeps {
  published: PublishedMedia;
  public: PublicBucket;
  /** The cache in front of `public.baseUrl` (NO_EDGE_CACHE where nothing caches). */
  edgeCache: Pick<EdgeCache, "purge">;
}

/** The public URL of a rendition key (as publish answers it). */
export const publicUrlOf = (baseUrl: string, key: string): string => `${baseUrl.replace(/\/?$/, "/")}${key}`;

/** `request.key` must be a media key of `request.orgId` of a publishable owner type. */
export function publishableKey(request: PublishRequest): OwnerType {
  const parsed = parseObjectKey(request.key);
  if (parsed?.bucket !== "media" || parsed.orgId !== request.orgId) {
    throw new ForbiddenError("Only uploads of this organisation can be published.", [{ key: request.key }]);
  }
  if (!OWNER_TYPE_POLICIES[parsed.ownerType].publishable) {
    throw new ForbiddenError(`${parsed.ownerType} uploads cannot be published.`, [{ key: request.key, ownerType: parsed.ownerType }]);
  }
  return parsed.ownerType;
}

/**
 * Deletes the renditions of the published `keys` of `orgId`, purges their public URLs from the edge
 * cache, then removes their records (giving their bytes back). Invariant: a record goes only once
 * storage confirmed all its renditions gone *and* the CDN confirmed their URLs purged, so a failure
 * midway (DependencyUnavailableError "storage" or "cdn") is retried safely and the retry purges
 * again; a key that is not published counts nothing. Purging after the delete means the edge can
 * only fetch a copy again from an origin that no longer has it.
 */
export async function unpublishKeys(deps: UnpublishDeps, orgId: string, keys: string[]): Promise<{ deleted: number }> {
  let deleted = 0;
  for (const key of keys) {
    const item = await deps.published.publishedItem(orgId, key);
    if (!item) continue;
    const renditionKeys = item.renditions.map((r) => r.key);
    const outcome = await deps.public.objects.deleteObjects(deps.public.name, renditionKeys);
    if (outcome.failed.length > 0) throw new DependencyUnavailableError("storage");
    await deps.edgeCache.purge(renditionKeys.map((renditionKey) => publicUrlOf(deps.public.baseUrl, renditionKey)));
    if (await deps.published.removePublished(orgId, key)) deleted += item.renditions.length;
  }
  return { deleted };
}

/** Invariant: as `unpublishKeys`, for one key of a publishable type of `orgId`; `deleted` counts renditions. */
export async function unpublish(deps: UnpublishDeps, request: UnpublishRequest): Promise<{ deleted: number }> {
  publishableKey(request);
  return unpublishKeys(deps, request.orgId, [request.key]);
}
