/**
 * Unpublishing, and the checks publish shares with it: what a publishable key is, the public
 * bucket, deleting renditions. Kept apart from publish (which encodes images with sharp) so release
 * and unpublish carry no image codec — only the functions SST installs sharp for may load it.
 */
import * as z from "zod";
import { OWNER_TYPE_POLICIES, type OwnerType } from "../contract/catalog.js";
import { DependencyUnavailableError, ForbiddenError } from "../errors.js";
import { parseObjectKey } from "../policies/object-keys.js";
import { safeId } from "../policies/request-fields.js";
import type { ObjectStore } from "../storage/object-store.js";
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
}

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
 * Deletes the renditions of the published `keys` of `orgId`, then their records (giving their
 * bytes back). Invariant: a record goes only once storage confirmed all its renditions gone, so a
 * failure midway is retried safely; a key that is not published counts nothing.
 */
export async function unpublishKeys(deps: UnpublishDeps, orgId: string, keys: string[]): Promise<{ deleted: number }> {
  let deleted = 0;
  for (const key of keys) {
    const item = await deps.published.publishedItem(orgId, key);
    if (!item) continue;
    const outcome = await deps.public.objects.deleteObjects(
      deps.public.name,
      item.renditions.map((r) => r.key),
    );
    if (outcome.failed.length > 0) throw new DependencyUnavailableError("storage");
    if (await deps.published.removePublished(orgId, key)) deleted += item.renditions.length;
  }
  return { deleted };
}

/** Invariant: as `unpublishKeys`, for one key of a publishable type of `orgId`; `deleted` counts renditions. */
export async function unpublish(deps: UnpublishDeps, request: UnpublishRequest): Promise<{ deleted: number }> {
  publishableKey(request);
  return unpublishKeys(deps, request.orgId, [request.key]);
}
