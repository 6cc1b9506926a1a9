/**
 * The orphan audit: objects that outlived their records. Reconciliation compares the `used`
 * counter with the linked objects it can see; when Redis loses data (no persistence, a failover
 * that drops writes) staged objects are never swept and linked objects lose their markers, and
 * reconciliation cannot see what is gone. The audit starts from storage instead: it lists both
 * buckets whole and asks, page by page, whether each object still has a record of any kind —
 *   - an upload record (any status) for the upload id in its key (media keys, staged media under
 *     `staging/`, `incoming/`, and `records/` or linked media keys during promotion),
 *   - a linked marker on the object itself (linked media and `records/`),
 *   - for a processed copy under `variants/`, a linked original whose recorded variants name it.
 * An object with none, written longer ago than the longest staging lifetime (URL lifetime + grace:
 * no upload in flight is that old), is an orphan. Orphans are deleted only when asked, never under
 * `records/` (the retention lock: they are reported only), and never when the share of unknown
 * objects in a bucket passes the circuit breaker: that pattern means lost records, not orphans.
 * The breaker counts per bucket, and only objects older than the staging lifetime (orphans among
 * old objects — young ones are never orphans, whatever their number): a tripped bucket keeps its
 * orphans, while the other bucket's are still deleted. It also needs more orphans than
 * BREAKER_MIN_ORPHANS or than the bucket's known old objects: a handful among known objects (a
 * crash between a put and its record, an operator's stray file) is what the audit exists to
 * delete, however small the bucket; a bucket whose records were lost has few or no known objects.
 */
import * as z from "zod";
import type { Log } from "../logging.js";
import { PROCESSABLE_IMAGE_TYPES, PROCESSABLE_VIDEO_TYPES } from "../media/media-variants.js";
import { parseObjectKey, parseStagedMediaKey, RECORDS_PREFIX, VARIANTS_PREFIX } from "../policies/object-keys.js";
import { EXTENSION_BY_TYPE } from "../policies/owner-types.js";
import type { LinkedObjects, ObjectRef } from "../quotas/linked-objects.js";
import type { StagingStore } from "../staging/staging-store.js";
import type { Buckets } from "../storage/buckets.js";
import type { ListedObject, ObjectStore } from "../storage/object-store.js";
import { type Clock, systemClock } from "../time/clock.js";

/** At most this many orphans, and no more than the bucket's known old objects, never trip the breaker (a small bucket's one orphan is 20 %+). */
export const BREAKER_MIN_ORPHANS = 10;

/** `{ delete: true }` deletes the orphans (circuit breaker permitting); anything else only reports. */
export const orphanAuditRequestSchema = z.object({ delete: z.boolean().default(false) }).strict();
export type OrphanAuditRequest = z.input<typeof orphanAuditRequestSchema>;

/** At most this many orphans are itemised in a report (all are counted, and all are deleted when asked). */
export const ORPHANS_ITEMISED = 1000;

export interface OrphanAuditDeps {
  uploads: Pick<StagingStore, "uploadRecords">;
  links: Pick<LinkedObjects, "linkedObjects">;
  objects: Pick<ObjectStore, "list" | "deleteObjects">;
  buckets: Buckets;
  /** The longest an object may wait for its record's work: `presignTtlSeconds + stagingGraceSeconds`. */
  stagingLifetimeSeconds: number;
  /** Circuit breaker: above this share (percent) of a bucket's old objects being orphans, nothing in that bucket is deleted. */
  maxUnknownPercent: number;
  /** The breaker also needs more orphans than this, or than the bucket's known old objects. Default BREAKER_MIN_ORPHANS. */
  breakerMinOrphans?: number;
  clock?: Clock;
  log?: Log;
}

const count = z.number().int().min(0);

export const bucketAuditSchema = z.object({
  bucket: z.string(),
  objects: count,
  /** Objects with no record of any kind (orphans plus young ones). */
  unknown: count,
  /** Of those, written within the staging lifetime: never reported, never deleted. */
  youngUnknown: count,
  orphans: count,
  orphanBytes: count,
  /** Objects written longer ago than the staging lifetime: what the circuit breaker counts. */
  oldObjects: count,
  /** orphans / oldObjects, in percent (0 when there is no old object). */
  unknownPercent: z.number().min(0).max(100),
  /** unknownPercent passed `maxUnknownPercent`: records were probably lost, nothing in this bucket was deleted. */
  circuitBreakerTripped: z.boolean(),
});
export type BucketAudit = z.output<typeof bucketAuditSchema>;

export const orphanSchema = z.object({
  bucket: z.string(),
  key: z.string(),
  size: count,
  lastModified: z.number(),
  /** Under `records/`: kept by the retention lock, reported only. */
  retained: z.boolean(),
});
export type Orphan = z.output<typeof orphanSchema>;

export const orphanAuditReportSchema = z.object({
  buckets: z.array(bucketAuditSchema),
  /** Up to ORPHANS_ITEMISED of them, in listing order. */
  orphans: z.array(orphanSchema),
  orphanCount: count,
  /** Some bucket's breaker tripped (see `buckets`): its orphans were not deleted. */
  circuitBreakerTripped: z.boolean(),
  deleteRequested: z.boolean(),
  deleted: count,
  failed: z.array(z.object({ bucket: z.string(), key: z.string(), code: z.string() })),
});
export type OrphanAuditReport = z.output<typeof orphanAuditReportSchema>;

/** The linked originals a processed copy may belong to: one per processable image or video extension. */
function originalCandidates(variant: string): string[] {
  const parts = variant.slice(VARIANTS_PREFIX.length).split("/");
  if (parts.length !== 5) return [];
  const [orgId, ownerType, userId, uploadId] = parts;
  return [...PROCESSABLE_IMAGE_TYPES, ...PROCESSABLE_VIDEO_TYPES].map((type) => `${orgId}/${ownerType}/${userId}/${uploadId}.${EXTENSION_BY_TYPE[type]}`);
}

/** Which objects of one listed page have a record of any kind, in one read per port. */
async function knownObjects(deps: OrphanAuditDeps, bucket: string, page: ListedObject[]): Promise<boolean[]> {
  const uploadIds = page.map((o) => (parseObjectKey(o.key) ?? parseStagedMediaKey(o.key))?.uploadId ?? null);
  const candidates = page.map((o) => (o.key.startsWith(VARIANTS_PREFIX) ? originalCandidates(o.key) : []));
  const idsToRead = [...new Set(uploadIds.filter((id): id is string => id !== null))];
  const refs: ObjectRef[] = [...page.map((o) => ({ bucket, key: o.key })), ...candidates.flat().map((key) => ({ bucket, key }))];
  const [records, links] = await Promise.all([deps.uploads.uploadRecords(idsToRead), deps.links.linkedObjects(refs)]);
  const recorded = new Set(idsToRead.filter((_, i) => records[i] !== null));
  const variantsOfLinked = new Set(links.slice(page.length).flatMap((link) => link?.variantKeys ?? []));
  return page.map((o, i) => {
    const uploadId = uploadIds[i];
    return (uploadId !== null && uploadId !== undefined && recorded.has(uploadId)) || links[i] !== null || variantsOfLinked.has(o.key);
  });
}

/**
 * Lists every object of both buckets and reports those with no record that are older than the
 * staging lifetime; with `delete`, deletes them. Invariants: an object with any record, or younger
 * than the staging lifetime, is never reported; nothing under `records/` is ever deleted; nothing in
 * a bucket is deleted when its orphans exceed `maxUnknownPercent` of its objects older than the
 * staging lifetime and outnumber `breakerMinOrphans` or the bucket's known old objects (then one error line is logged; other buckets are unaffected). Like reconciliation it reads while traffic flows: an object whose record is written
 * during the listing is young, so it is never reported.
 */
export async function runOrphanAudit(deps: OrphanAuditDeps, request: OrphanAuditRequest = {}): Promise<OrphanAuditReport> {
  const { delete: deleteRequested } = orphanAuditRequestSchema.parse(request);
  const clock = deps.clock ?? systemClock;
  const oldestAllowed = clock.now() - deps.stagingLifetimeSeconds * 1000;
  const audits: BucketAudit[] = [];
  const orphans: Orphan[] = [];
  for (const bucket of [...new Set([deps.buckets.media, deps.buckets.compliance])]) {
    const audit: BucketAudit = {
      bucket,
      objects: 0,
      unknown: 0,
      youngUnknown: 0,
      orphans: 0,
      orphanBytes: 0,
      oldObjects: 0,
      unknownPercent: 0,
      circuitBreakerTripped: false,
    };
    for await (const page of deps.objects.list(bucket, "")) {
      const known = await knownObjects(deps, bucket, page);
      page.forEach((object, i) => {
        audit.objects += 1;
        if (object.lastModified <= oldestAllowed) audit.oldObjects += 1;
        if (known[i]) return;
        audit.unknown += 1;
        if (object.lastModified > oldestAllowed) {
          audit.youngUnknown += 1;
          return;
        }
        audit.orphans += 1;
        audit.orphanBytes += object.size;
        orphans.push({ ...object, bucket, retained: bucket === deps.buckets.compliance && object.key.startsWith(RECORDS_PREFIX) });
      });
    }
    audit.unknownPercent = audit.oldObjects === 0 ? 0 : Math.round((audit.orphans / audit.oldObjects) * 10_000) / 100;
    // A handful of orphans among known objects is what the audit is for; lost records leave more orphans than that, or than known objects.
    const knownOld = audit.oldObjects - audit.orphans;
    const enough = audit.orphans > Math.min(deps.breakerMinOrphans ?? BREAKER_MIN_ORPHANS, knownOld);
    audit.circuitBreakerTripped = audit.unknownPercent > deps.maxUnknownPercent && enough;
    audits.push(audit);
  }

  const tripped = audits.filter((a) => a.circuitBreakerTripped);
  const report: OrphanAuditReport = {
    buckets: audits,
    orphans: orphans.slice(0, ORPHANS_ITEMISED),
    orphanCount: orphans.length,
    circuitBreakerTripped: tripped.length > 0,
    deleteRequested,
    deleted: 0,
    failed: [],
  };
  const log = deps.log;
  if (tripped.length > 0) {
    log?.error("orphan audit: too many objects have no record — records were probably lost; nothing deleted in these buckets", {
      maxUnknownPercent: deps.maxUnknownPercent,
      buckets: tripped,
    });
  }
  if (deleteRequested) {
    for (const audit of audits.filter((a) => !a.circuitBreakerTripped)) {
      const keys = orphans.filter((o) => o.bucket === audit.bucket && !o.retained).map((o) => o.key);
      if (keys.length === 0) continue;
      const outcome = await deps.objects.deleteObjects(audit.bucket, keys);
      report.deleted += outcome.deleted.length;
      report.failed.push(...outcome.failed.map((f) => ({ bucket: audit.bucket, ...f })));
    }
  }
  if (orphans.length > 0) log?.warn("orphan audit: objects without records", { orphanCount: orphans.length, deleted: report.deleted, buckets: audits });
  return report;
}
