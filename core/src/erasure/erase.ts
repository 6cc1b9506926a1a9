/**
 * Erasure — a member leaves (`erase-user`) or an organisation does (`erase-org`): every object
 * this service holds of them is deleted, whatever made it — their uploads of every owner type,
 * every processed copy, published renditions, uploads still in flight — and the quota given back
 * as `release` gives it; what the retention lock keeps is listed with the date it ends
 * (docs/API.md, "Erasure"; docs/ARCHITECTURE.md, "Erasure").
 *
 * Bounded and resumable: each invocation runs batches of at most `batchSize` objects (or uploads
 * in flight) while it has time, and answers a cursor to pass back; every batch is idempotent
 * (objects are noted, then unpublished, unlinked and deleted — each step safe to repeat), so an invocation
 * that dies anywhere is resumed by calling again with the last cursor it answered (or none: the
 * erasure then starts its passes over, skipping what is gone), and ends in the same state.
 */
import * as z from "zod";
import { OWNER_TYPE_POLICIES, OWNER_TYPES, type OwnerType } from "../contract/catalog.js";
import { DependencyUnavailableError, InvalidRequestError } from "../errors.js";
import { sha256Hex } from "../hashing.js";
import type { Log } from "../logging.js";
import type { MediaVariants } from "../media/media-variants.js";
import {
  INCOMING_PREFIX,
  PUBLIC_PREFIX,
  parseObjectKey,
  parseStagedMediaKey,
  parseVariantKey,
  RECORDS_PREFIX,
  STAGING_PREFIX,
  VARIANTS_PREFIX,
} from "../policies/object-keys.js";
import { idempotencyKeySchema, safeId } from "../policies/request-fields.js";
import type { PublishedItem } from "../publishing/published-media.js";
import { type PublicBucket, type UnpublishDeps, unpublishKeys } from "../publishing/unpublish.js";
import type { LinkedObjects } from "../quotas/linked-objects.js";
import type { StagingStore } from "../staging/staging-store.js";
import type { Buckets } from "../storage/buckets.js";
import type { ListedObject, ObjectStore } from "../storage/object-store.js";
import type { ErasedObject, ErasureReceipt, ErasureRef, ErasureScope, Erasures } from "./erasure-store.js";

/** How long a receipt answers a retry under the same idempotency key (the log line is the lasting audit trail). */
export const ERASURE_RECEIPT_TTL_SECONDS = 400 * 24 * 3600;
/** Objects (or uploads in flight) per batch unless the request says otherwise. */
export const DEFAULT_ERASURE_BATCH_SIZE = 500;
/** No batch starts with less than this left of the invocation: a batch is a listing, a few Redis steps and a DeleteObjects. */
export const ERASURE_BATCH_RESERVE_MS = 15_000;

const cursorField = z.string().min(1).max(4096).optional();
const batchControls = {
  /** Resume: the `cursor` of the previous answer. Absent: from the start (what is gone is skipped). */
  cursor: cursorField,
  /** Objects (or uploads in flight) per batch, 1–1000. */
  batchSize: z.number().int().min(1).max(1000).default(DEFAULT_ERASURE_BATCH_SIZE),
  /** Stop after this many batches (and answer a cursor); by default, while the invocation has time. */
  maxBatches: z.number().int().min(1).max(100_000).optional(),
};

export const eraseUserRequestSchema = z.object({ orgId: safeId, userId: safeId, idempotencyKey: idempotencyKeySchema, ...batchControls });
export type EraseUserRequest = z.output<typeof eraseUserRequestSchema>;
export const eraseOrgRequestSchema = z.object({ orgId: safeId, idempotencyKey: idempotencyKeySchema, ...batchControls });
export type EraseOrgRequest = z.output<typeof eraseOrgRequestSchema>;

const countsSchema = z.object({ uploads: z.number().int().min(0), objects: z.number().int().min(0), bytes: z.number().int().min(0) });

export const erasureReceiptSchema = z.object({
  orgId: z.string(),
  /** null: the whole organisation. */
  userId: z.string().nullable(),
  startedAt: z.iso.datetime(),
  completedAt: z.iso.datetime(),
  /** By owner type (`unknown`: objects in the scope's places whose key names no upload): uploads, objects (with every copy), bytes. */
  deleted: z.record(z.string(), countsSchema),
  objects: z.number().int().min(0),
  bytes: z.number().int().min(0),
  retained: z.object({
    reason: z.string(),
    objects: z.number().int().min(0),
    bytes: z.number().int().min(0),
    until: z.iso.datetime().nullable(),
    items: z.array(z.object({ bucket: z.string(), key: z.string(), size: z.number().int().min(0), until: z.iso.datetime() })),
    truncated: z.boolean(),
  }),
});
export type ErasureReceiptReply = z.output<typeof erasureReceiptSchema>;

/** The reply of `erase-user` and `erase-org`; documented, never parsed at run time. */
export const eraseResponseSchema = z.discriminatedUnion("status", [
  z.object({
    status: z.literal("in_progress"),
    /** Pass it back (with the same idempotency key) to go on. */
    cursor: z.string(),
    /** Noted so far by this erasure (all invocations). */
    progress: z.object({ objects: z.number().int().min(0), bytes: z.number().int().min(0) }),
  }),
  z.object({ status: z.literal("complete"), receipt: erasureReceiptSchema }),
]);
export type EraseResponse = z.output<typeof eraseResponseSchema>;

export interface EraseDeps {
  erasures: Erasures;
  store: Pick<StagingStore, "settleUrlExpired">;
  links: LinkedObjects;
  variants: Pick<MediaVariants, "mediaStates">;
  objects: Pick<ObjectStore, "list" | "deleteObjects" | "abortMultipart">;
  buckets: Buckets;
  /** Unpublishing as `release` does it (through the same `unpublishKeys`), and the public bucket listed for leftovers. */
  unpublishing: UnpublishDeps & { public: PublicBucket & { objects: Pick<ObjectStore, "list" | "deleteObjects"> } };
  /** Where promoted records (`records/…`) live, when not in the compliance bucket (a records bucket of its own), listed with its own read-only store. */
  recordsBucket?: string;
  recordsObjects?: Pick<ObjectStore, "list">;
  /** How long a record under `records/` is kept after it was written (the retention lock's period). */
  recordsRetentionSeconds: number;
  /** The invocation's time left; absent: no time limit (maxBatches still applies). */
  remainingTimeMs?: () => number;
  log?: Log;
}

type Place = "media" | "compliance" | "public" | "records";

/**
 * One pass of an erasure. `in-flight`: the scope's uploads on the deadline list. `uploads`: linked
 * media uploads under a prefix (released). `copies`: objects deleted outright. `retained`: records
 * listed, never deleted.
 */
type Pass = { kind: "in-flight" } | { kind: "publications" } | { kind: "uploads" | "copies" | "retained"; place: Place; prefix: string };

const MEDIA_OWNER_TYPES = OWNER_TYPES.filter((type) => OWNER_TYPE_POLICIES[type].bucket === "media");

/**
 * The passes of a scope, in order: uploads in flight first (so nothing is linked behind the
 * listing), then originals (their copies and published renditions go with them), then publications
 * of the scope whose original was no longer there to list (from the org's published-media record:
 * unpublished, so their CDN copies are purged too), then what is left of copies and staged media
 * never linked (`staging/`); for an org also the public bucket, unconsumed signatures and, last,
 * the records kept. A cursor from before a pass was added resumes at an earlier pass: each is safe to repeat.
 */
function passesOf(scope: ErasureScope): Pass[] {
  const { orgId, userId } = scope;
  if (userId !== null) {
    return [
      { kind: "in-flight" },
      ...MEDIA_OWNER_TYPES.map((type): Pass => ({ kind: "uploads", place: "media", prefix: `${orgId}/${type}/${userId}/` })),
      { kind: "publications" },
      ...MEDIA_OWNER_TYPES.map((type): Pass => ({ kind: "copies", place: "media", prefix: `${VARIANTS_PREFIX}${orgId}/${type}/${userId}/` })),
      ...MEDIA_OWNER_TYPES.map((type): Pass => ({ kind: "copies", place: "media", prefix: `${STAGING_PREFIX}${orgId}/${type}/${userId}/` })),
    ];
  }
  return [
    { kind: "in-flight" },
    { kind: "uploads", place: "media", prefix: `${orgId}/` },
    { kind: "publications" },
    { kind: "copies", place: "media", prefix: `${VARIANTS_PREFIX}${orgId}/` },
    { kind: "copies", place: "media", prefix: `${STAGING_PREFIX}${orgId}/` },
    { kind: "copies", place: "public", prefix: `${PUBLIC_PREFIX}${orgId}/` },
    { kind: "copies", place: "compliance", prefix: `${INCOMING_PREFIX}${orgId}/` },
    { kind: "retained", place: "records", prefix: `${RECORDS_PREFIX}${orgId}/` },
  ];
}

/** Where a pass stands: which pass, and its position (a ZSCAN cursor, or the last key listed). */
interface Position {
  pass: number;
  after: string | null;
}

const positionSchema = z.object({ v: z.literal(1), e: z.string(), p: z.number().int().min(0), a: z.string().nullable() });

function encodeCursor(erasure: ErasureRef, position: Position): string {
  return Buffer.from(JSON.stringify({ v: 1, e: erasure.id.slice(0, 16), p: position.pass, a: position.after })).toString("base64url");
}

function decodeCursor(erasure: ErasureRef, passes: number, cursor: string | undefined): Position {
  if (cursor === undefined) return { pass: 0, after: null };
  let parsed: z.output<typeof positionSchema> | null = null;
  try {
    const result = positionSchema.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (result.success) parsed = result.data;
  } catch {
    parsed = null;
  }
  if (!parsed || parsed.e !== erasure.id.slice(0, 16) || parsed.p >= passes) {
    throw new InvalidRequestError("The cursor is not one this erasure answered.", [{ path: "cursor", message: "not a cursor of this erasure" }]);
  }
  return { pass: parsed.p, after: parsed.a };
}

/** The server-made id of an erasure: its scope and the caller's idempotency key. */
export function erasureRefOf(scope: ErasureScope, idempotencyKey: string): ErasureRef {
  return { id: sha256Hex("erasure", scope.orgId, scope.userId ?? "*", idempotencyKey), scope };
}

/** Erases one member's uploads in one org. Invariants: see `erase`. */
export function eraseUser(deps: EraseDeps, request: EraseUserRequest): Promise<EraseResponse> {
  return erase(deps, { orgId: request.orgId, userId: request.userId }, request);
}

/** Erases every upload of an org (its published minisite included); records under the lock are listed as retained. */
export function eraseOrg(deps: EraseDeps, request: EraseOrgRequest): Promise<EraseResponse> {
  return erase(deps, { orgId: request.orgId, userId: null }, request);
}

/**
 * Invariants: from the first call until the receipt is stored, stage and commitConsume refuse the
 * scope (ERASURE_IN_PROGRESS), so nothing is linked behind the passes; every object is noted
 * before it is deleted, and a linked one is unlinked before it is deleted (unlike `release`: the
 * passes find objects by listing, so a link is never left behind an object that is no longer
 * listed) — an unlinked object stays listed until deleted, so repeating or resuming a batch
 * changes nothing twice and leaves nothing behind; objects under `records/` are never deleted. The receipt is stored once, and every later call with the same
 * idempotency key (for the same scope) answers it; the "erasure complete" audit line is logged at
 * least once (after the receipt is stored, and by each call that answers the stored receipt).
 */
async function erase(
  deps: EraseDeps,
  scope: ErasureScope,
  request: { idempotencyKey: string; cursor?: string | undefined; batchSize: number; maxBatches?: number | undefined },
): Promise<EraseResponse> {
  const erasure = erasureRefOf(scope, request.idempotencyKey);
  const passes = passesOf(scope);
  let position = decodeCursor(erasure, passes.length, request.cursor);
  const begun = await deps.erasures.beginErasure(erasure);
  if (begun.state === "complete") {
    // Logged again: the first call may have stored the receipt and died before its log line.
    logCompletion(deps.log, erasure, begun.receipt, true);
    return { status: "complete", receipt: receiptReply(begun.receipt) };
  }

  let progress = { objects: 0, bytes: 0 };
  for (let batches = 0; position.pass < passes.length; batches++) {
    const outOfTime = batches > 0 && deps.remainingTimeMs !== undefined && deps.remainingTimeMs() < ERASURE_BATCH_RESERVE_MS;
    if ((request.maxBatches !== undefined && batches >= request.maxBatches) || outOfTime) {
      return { status: "in_progress", cursor: encodeCursor(erasure, position), progress };
    }
    const outcome = await runBatch(deps, erasure, passes[position.pass]!, position.after, request.batchSize);
    if (outcome.progress) progress = outcome.progress;
    position = outcome.after === null ? { pass: position.pass + 1, after: null } : { pass: position.pass, after: outcome.after };
  }

  const receipt = await deps.erasures.finishErasure(erasure, ERASURE_RECEIPT_TTL_SECONDS);
  logCompletion(deps.log, erasure, receipt, false);
  return { status: "complete", receipt: receiptReply(receipt) };
}

/**
 * The audit trail's line, which outlives the receipt: written after the receipt is stored and
 * again (`replay: true`) by every call answered with the stored receipt, so a crash between storing
 * and logging never loses it — at least once per erasure; `erasureId` tells repeats apart.
 */
function logCompletion(log: Log | undefined, erasure: ErasureRef, receipt: ErasureReceipt, replay: boolean): void {
  log?.info("erasure complete", {
    erasureId: erasure.id,
    replay,
    orgId: receipt.orgId,
    userId: receipt.userId,
    deleted: receipt.deleted,
    objects: receipt.objects,
    bytes: receipt.bytes,
    retained: receipt.retained.objects,
    retainedUntil: receipt.retained.until === null ? null : new Date(receipt.retained.until).toISOString(),
    startedAt: new Date(receipt.startedAt).toISOString(),
    completedAt: new Date(receipt.completedAt).toISOString(),
    durationMs: receipt.completedAt - receipt.startedAt,
  });
}

function receiptReply(receipt: ErasureReceipt): ErasureReceiptReply {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    ...receipt,
    startedAt: iso(receipt.startedAt),
    completedAt: iso(receipt.completedAt),
    retained: {
      ...receipt.retained,
      until: receipt.retained.until === null ? null : iso(receipt.retained.until),
      items: receipt.retained.items.map((item) => ({ ...item, until: iso(item.until) })),
    },
  };
}

/** One batch of a pass: where it ended (null: the pass is done) and the totals noted so far. */
type BatchOutcome = { after: string | null; progress?: { objects: number; bytes: number } };

async function runBatch(deps: EraseDeps, erasure: ErasureRef, pass: Pass, after: string | null, batchSize: number): Promise<BatchOutcome> {
  if (pass.kind === "in-flight") return cancelInFlight(deps, erasure.scope, after, batchSize);
  if (pass.kind === "publications") return erasePublications(deps, erasure, after, batchSize);
  // The public bucket has its own token (PublicMedia): listed and deleted through its own store.
  const bucket =
    pass.place === "public"
      ? deps.unpublishing.public.name
      : pass.place === "records"
        ? (deps.recordsBucket ?? deps.buckets.compliance)
        : deps.buckets[pass.place];
  const objects = pass.place === "public" ? deps.unpublishing.public.objects : pass.place === "records" ? (deps.recordsObjects ?? deps.objects) : deps.objects;
  const page = await firstPage(objects, bucket, pass.prefix, after, batchSize);
  if (page.length === 0) return { after: null };
  const last = page.at(-1)!.key;
  if (pass.kind === "retained") {
    await noteRetained(deps, erasure, bucket, page);
    return { after: last };
  }
  const progress = pass.kind === "uploads" ? await eraseUploads(deps, erasure, page) : await eraseCopies(deps, erasure, pass.place, bucket, page);
  return { after: last, progress };
}

/** Up to `limit` objects under `prefix` after `after`, in key order (one listing request). */
async function firstPage(objects: Pick<ObjectStore, "list">, bucket: string, prefix: string, after: string | null, limit: number): Promise<ListedObject[]> {
  const page: ListedObject[] = [];
  for await (const listed of objects.list(bucket, prefix, after === null ? {} : { startAfter: after })) {
    page.push(...listed.slice(0, limit - page.length));
    if (page.length >= limit) break;
  }
  return page;
}

/**
 * Uploads of the scope on the deadline list: still-staged ones are abandoned (reservation given
 * back, consume answers EXPIRED; still listed, so the sweeper deletes at the deadline anything
 * a still-valid URL lets through) and multipart uploads aborted. Objects already stored are found
 * and deleted by the listing passes that follow.
 */
async function cancelInFlight(deps: EraseDeps, scope: ErasureScope, after: string | null, batchSize: number): Promise<BatchOutcome> {
  const page = await deps.erasures.scopeUploadsInFlight(scope, after ?? "0", batchSize);
  const staged = page.uploads.filter((u) => u.status === "staged");
  if (staged.length > 0) await deps.store.settleUrlExpired({ missing: staged.map((u) => ({ uploadId: u.uploadId, orgId: u.orgId })), present: [] });
  // Already aborted (or completed) answers false: nothing left in flight either way.
  await Promise.all(page.uploads.flatMap((u) => (u.multipart ? [deps.objects.abortMultipart(u.bucket, u.key, u.multipart.storageUploadId)] : [])));
  return { after: page.cursor === "0" ? null : page.cursor };
}

/** Media uploads of the scope: published renditions, links (and their bytes) and objects with every recorded copy, as `release` removes them. */
async function eraseUploads(deps: EraseDeps, erasure: ErasureRef, page: ListedObject[]) {
  const { orgId, userId } = erasure.scope;
  const mine = page.flatMap((o) => {
    const parsed = parseObjectKey(o.key);
    return parsed?.bucket === "media" && parsed.orgId === orgId && (userId === null || parsed.userId === userId) ? [{ ...o, parsed }] : [];
  });
  if (mine.length === 0) return undefined;
  const media = deps.buckets.media;
  const states = await deps.variants.mediaStates(mine.map((o) => ({ bucket: media, key: o.key })));
  const published = new Map<string, PublishedItem>();
  if (mine.some((o) => OWNER_TYPE_POLICIES[o.parsed.ownerType].publishable)) {
    for (const item of await deps.unpublishing.published.publishedItems(orgId)) published.set(item.key, item);
  }
  const notes: ErasedObject[] = mine.flatMap((o, i) => {
    const owner = { ownerType: o.parsed.ownerType, uploadId: o.parsed.uploadId };
    const state = states[i];
    const copies = state?.status === "ready" ? Object.values(state.variants).map((v) => ({ bucket: media, key: v.key, size: v.size, ...owner })) : [];
    const renditions = (published.get(o.key)?.renditions ?? []).map((r) => ({ bucket: deps.unpublishing.public.name, key: r.key, size: r.size, ...owner }));
    return [{ bucket: media, key: o.key, size: o.size, ...owner }, ...copies, ...renditions];
  });
  const progress = await deps.erasures.noteErased(erasure, notes);

  // Release's steps in the order a listing-driven retry needs (docs/ARCHITECTURE.md, "Erasure"):
  // unpublish, unlink, delete — an object deleted before a crash would no longer be listed, and its
  // link would stay; one unlinked before a crash is still listed, and the retry deletes it.
  const linked = mine.filter((_, i) => states[i] !== null);
  const publishable = linked.filter((o) => OWNER_TYPE_POLICIES[o.parsed.ownerType].publishable).map((o) => o.key);
  if (publishable.length > 0) await unpublishKeys(deps.unpublishing, orgId, publishable);
  if (linked.length > 0)
    await deps.links.unlinkObjects(
      orgId,
      linked.map((o) => ({ bucket: media, key: o.key })),
    );
  await deleteAll(
    deps.objects,
    media,
    notes.filter((n) => n.bucket === media).map((n) => n.key),
  );
  // A publish that recorded between the first pass and the unlink (after it, none can record), as release does.
  if (publishable.length > 0) await unpublishKeys(deps.unpublishing, orgId, publishable);
  return progress;
}

/**
 * Published items of the scope still recorded after the uploads pass: their original was gone
 * before it could be listed (an object lost or deleted outside the service), so nothing else would
 * unpublish them. Renditions are noted, then unpublished as `unpublish` does (deleted, purged from
 * the CDN, record dropped). Pages through the org's items in key order.
 */
async function erasePublications(deps: EraseDeps, erasure: ErasureRef, after: string | null, batchSize: number): Promise<BatchOutcome> {
  const { orgId, userId } = erasure.scope;
  const page = (await deps.unpublishing.published.publishedItems(orgId))
    .flatMap((item) => {
      const parsed = parseObjectKey(item.key);
      const inScope = parsed?.bucket === "media" && parsed.orgId === orgId && (userId === null || parsed.userId === userId);
      return inScope && (after === null || item.key > after) ? [{ item, parsed }] : [];
    })
    .slice(0, batchSize);
  if (page.length === 0) return { after: null };
  const notes: ErasedObject[] = page.flatMap(({ item, parsed }) =>
    item.renditions.map((r) => ({ bucket: deps.unpublishing.public.name, key: r.key, size: r.size, ownerType: parsed.ownerType, uploadId: parsed.uploadId })),
  );
  const progress = notes.length > 0 ? await deps.erasures.noteErased(erasure, notes) : undefined;
  await unpublishKeys(
    deps.unpublishing,
    orgId,
    page.map(({ item }) => item.key),
  );
  return { after: page.at(-1)!.item.key, progress };
}

/** Copies (processed variants, public renditions), staged media and unconsumed signatures of the scope, deleted outright. */
async function eraseCopies(deps: EraseDeps, erasure: ErasureRef, place: Place, bucket: string, page: ListedObject[]) {
  const { orgId, userId } = erasure.scope;
  const notes: ErasedObject[] = page.flatMap((o): ErasedObject[] => {
    if (place === "media") {
      // Processed copies, and staged media never linked (their records were settled by the in-flight pass).
      const parsed = parseVariantKey(o.key) ?? parseStagedMediaKey(o.key);
      if (!parsed || parsed.orgId !== orgId || (userId !== null && parsed.userId !== userId)) return [];
      return [{ bucket, key: o.key, size: o.size, ownerType: parsed.ownerType, uploadId: parsed.uploadId }];
    }
    if (place === "compliance") {
      const parsed = parseObjectKey(o.key);
      if (parsed?.bucket !== "compliance" || parsed.stage !== "incoming" || parsed.orgId !== orgId) return [];
      return [{ bucket, key: o.key, size: o.size, ownerType: "form_signature" satisfies OwnerType, uploadId: parsed.uploadId }];
    }
    // The public bucket: renditions left without a record (their records went with their uploads).
    return o.key.startsWith(`${PUBLIC_PREFIX}${orgId}/`) ? [{ bucket, key: o.key, size: o.size, ownerType: null, uploadId: null }] : [];
  });
  if (notes.length === 0) return undefined;
  const progress = await deps.erasures.noteErased(erasure, notes);
  const objects = place === "public" ? deps.unpublishing.public.objects : deps.objects;
  await deleteAll(
    objects,
    bucket,
    notes.map((n) => n.key),
  );
  return progress;
}

async function deleteAll(objects: Pick<ObjectStore, "deleteObjects">, bucket: string, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  const outcome = await objects.deleteObjects(bucket, keys);
  if (outcome.failed.length > 0) throw new DependencyUnavailableError("storage");
}

/** Records of the org under the retention lock: listed in the receipt with the end of their retention. */
async function noteRetained(deps: EraseDeps, erasure: ErasureRef, bucket: string, page: ListedObject[]): Promise<void> {
  const retained = page.flatMap((o) => {
    const parsed = parseObjectKey(o.key);
    return parsed?.bucket === "compliance" && parsed.stage === "records" && parsed.orgId === erasure.scope.orgId
      ? [{ bucket, key: o.key, size: o.size, until: o.lastModified + deps.recordsRetentionSeconds * 1000 }]
      : [];
  });
  await deps.erasures.noteRetained(erasure, retained);
}
