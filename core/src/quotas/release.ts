/**
 * Release — the parent record was deleted: delete its objects and give their bytes back to the
 * organisation's quota, once per object however often (or concurrently) it is released.
 */
import * as z from "zod";
import { OWNER_TYPE_POLICIES } from "../contract/catalog.js";
import { ForbiddenError } from "../errors.js";
import { parseObjectKey } from "../policies/object-keys.js";
import { safeId } from "../policies/request-fields.js";
import { type UnpublishDeps, unpublishKeys } from "../publishing/unpublish.js";
import type { Buckets } from "../storage/buckets.js";
import type { ObjectStore } from "../storage/object-store.js";
import type { LinkedObjects } from "./linked-objects.js";

export const releaseRequestSchema = z.object({
  keys: z.array(z.string().min(1).max(1024)).min(1).max(1000),
  orgId: safeId,
});
export type ReleaseRequest = z.output<typeof releaseRequestSchema>;

/** The reply of the internal `release`: objects deleted by this call and the bytes given back; documented, never parsed at run time. */
export const releaseResponseSchema = z.object({ released: z.number().int().min(0), bytes: z.number().int().min(0) });
export type ReleaseResponse = z.output<typeof releaseResponseSchema>;

export interface ReleaseDeps {
  links: LinkedObjects;
  objects: Pick<ObjectStore, "deleteObjects">;
  buckets: Buckets;
  /**
   * The public bucket and the published records: a released upload that is published is
   * unpublished first. Every deployed release has it; only callers with no public bucket (and so
   * nothing published) leave it out.
   */
  unpublishing?: UnpublishDeps;
}

/**
 * Invariants: only objects linked to `orgId` are deleted; objects go first and the bytes are given
 * back only after storage confirmed them gone, so a failure midway is retried safely and nothing is
 * given back twice. Retained compliance records cannot be released. A published upload is unpublished
 * first (its public renditions deleted, its record removed).
 */
export async function release(deps: ReleaseDeps, request: ReleaseRequest): Promise<ReleaseResponse> {
  const keys = [...new Set(request.keys)];
  const denied = keys.flatMap((key, index) => {
    const parsed = parseObjectKey(key);
    return !parsed || parsed.orgId !== request.orgId || parsed.bucket !== "media" ? [{ index, key }] : [];
  });
  if (denied.length > 0) throw new ForbiddenError("Only linked media objects of this organisation can be released.", denied);

  const objects = keys.map((key) => ({ bucket: deps.buckets.media, key }));
  const linked = await deps.links.linkedObjects(objects);
  const releasable = objects.flatMap((o, i) => (linked[i]?.orgId === request.orgId ? [{ ...o, variantKeys: linked[i]!.variantKeys ?? [] }] : []));
  if (releasable.length === 0) return { released: 0, bytes: 0 };

  // Public renditions go before the upload: a failure here leaves the upload linked, so a retry finds them again.
  const publishableKeys = releasable.flatMap((o) => {
    const parsed = parseObjectKey(o.key);
    return parsed?.bucket === "media" && OWNER_TYPE_POLICIES[parsed.ownerType].publishable ? [o.key] : [];
  });
  if (deps.unpublishing) await unpublishKeys(deps.unpublishing, request.orgId, publishableKeys);

  // An image goes with its processed variants; its bytes (which include theirs) come back only once all are gone.
  const outcome = await deps.objects.deleteObjects(
    deps.buckets.media,
    releasable.flatMap((o) => [o.key, ...o.variantKeys]),
  );
  const gone = new Set(outcome.deleted);
  const unlinked = await deps.links.unlinkObjects(
    request.orgId,
    releasable.filter((o) => gone.has(o.key) && o.variantKeys.every((k) => gone.has(k))).map(({ bucket, key }) => ({ bucket, key })),
  );
  // A publish that recorded between the first pass and the unlink is caught here; after the unlink none can record.
  if (deps.unpublishing) await unpublishKeys(deps.unpublishing, request.orgId, publishableKeys);
  return unlinked;
}
