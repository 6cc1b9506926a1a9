/**
 * Consume — the second stage: link staged uploads to a parent record exactly once.
 * Called by the service that writes the parent, before it commits.
 */
import * as z from "zod";
import { unsignedHeadersOf } from "../content/served-headers.js";
import { SNIFF_BYTES, sniff } from "../content/sniff.js";
import { type ErrorCode, errorForCode, InvalidRequestError } from "../errors.js";
import { sha256Hex } from "../hashing.js";
import { type Log, silentLog } from "../logging.js";
import { handOffMediaJobs, type MediaHandoffDeps } from "../media/media-handoff.js";
import { isProcessableMedia, type MediaJob } from "../media/media-variants.js";
import { INCOMING_PREFIX, linkedKeyFor, recordsKeyFor, STAGING_PREFIX } from "../policies/object-keys.js";
import { idempotencyKeySchema, ownerTypeSchema, safeId } from "../policies/request-fields.js";
import type { Scanner } from "../scanning/scanner.js";
import type { ObjectStore, StoredObjectInfo } from "../storage/object-store.js";
import { type StagedUpload, serverMetadataFor } from "../uploads/upload.js";
import type { StagingStore, StoredConsume } from "./staging-store.js";

export const consumeRequestSchema = z.object({
  uploadIds: z.array(safeId).min(1).max(100),
  ownerType: ownerTypeSchema,
  owner: z.object({ orgId: safeId, userId: safeId.optional() }),
  idempotencyKey: idempotencyKeySchema,
});
export type ConsumeRequest = z.output<typeof consumeRequestSchema>;

export interface ConsumeDeps {
  store: StagingStore;
  /** Only the calls consume makes, so a lean transport serves them (functions/lib/deps/lean-storage.ts). */
  objects: Pick<ObjectStore, "head" | "readFirstBytes" | "stream" | "copy" | "deleteObjects">;
  /** Virus scanning; null or absent = off (the caller logs that once at cold start). */
  scanner?: Scanner | null;
  /** Largest prefix of an object that is streamed to the scanner. */
  scanMaxBytes?: number;
  /** Compliance uploads (under `incoming/` there) are promoted to `records/` of `recordsBucket` when consumed. */
  complianceBucket?: string;
  /**
   * The retained records' own bucket (locked; written only here, read only through signed GETs).
   * Required when a batch holds a compliance upload: a record is never kept in the bucket the
   * public signature functions can reach.
   */
  recordsBucket?: string;
  /** How long the deadlines of a batch that promotes are held before the copy (default PROMOTION_HOLD_SECONDS). */
  promotionHoldSeconds?: number;
  /**
   * Hands linked images and videos to background processing after the commit. Absent: the jobs stay in the
   * outbox the commit wrote, and the sweeper's re-drive hands them over.
   */
  media?: Omit<MediaHandoffDeps, "log">;
  log?: Log;
}

export const consumedUploadSchema = z.object({
  uploadId: z.string(),
  bucket: z.string(),
  key: z.string(),
  contentType: z.string(),
  size: z.number().int().min(1),
  etag: z.string(),
  sha256: z.string().optional(),
});
export type ConsumedUpload = z.output<typeof consumedUploadSchema>;

/** The reply of the internal `consume` (and of its replays); documented, never parsed at run time. */
export const consumeResponseSchema = z.object({ uploads: z.array(consumedUploadSchema) });
export type ConsumeResponse = z.output<typeof consumeResponseSchema>;

type Failure = { uploadId: string; code: Exclude<ErrorCode, "RATE_LIMITED" | "DEPENDENCY_UNAVAILABLE" | "INTERNAL"> };

/** Replies for 24 h to a repeated call with the same idempotency key. */
export const REPLAY_TTL_SECONDS = 24 * 3600;
/**
 * A batch that promotes holds its deadlines this long before copying into the retention lock:
 * Lambda's longest timeout (15 min), so no invocation outlives its hold — the copy and the
 * commit always happen before the held deadline, whatever the configured function timeout.
 */
export const PROMOTION_HOLD_SECONDS = 900;

const MESSAGES: Partial<Record<Failure["code"], string>> = {
  NOT_FOUND: "Unknown upload.",
  FORBIDDEN: "The upload does not belong to this owner or owner type.",
  ALREADY_CONSUMED: "The upload is already linked.",
  EXPIRED: "The upload's staging deadline has passed.",
  NOT_UPLOADED: "The object is not in storage yet.",
  CONTENT_MISMATCH: "The stored object is not what was declared.",
  MALWARE_DETECTED: "The stored object contains malware.",
  ERASURE_IN_PROGRESS: "The owner's uploads are being erased; nothing can be linked until it ends.",
};

/** Codes whose objects are deleted (and records dropped) when consume rejects them. */
const REJECTED_CONTENT = new Set<Failure["code"]>(["CONTENT_MISMATCH", "MALWARE_DETECTED"]);

/** One error for the batch: the first failing id's code, with every failure in `details`. */
function batchError(failures: Failure[]): Error {
  const first = failures[0]!;
  return errorForCode(first.code, `${MESSAGES[first.code] ?? "The upload cannot be linked."} (${failures.length} of the batch failed)`, failures);
}

function replayOf(stored: StoredConsume, fingerprint: string): ConsumeResponse {
  if (stored.fingerprint !== fingerprint) {
    throw new InvalidRequestError("This idempotencyKey was already used for a different consume request.", [
      { path: "idempotencyKey", message: "already used for a different request" },
    ]);
  }
  return JSON.parse(stored.response) as ConsumeResponse;
}

function precheck(upload: StagedUpload | null, request: ConsumeRequest, ownerUserId: string | null, now: number): Failure["code"] | null {
  if (!upload) return "NOT_FOUND";
  if (upload.orgId !== request.owner.orgId || upload.userId !== ownerUserId || upload.ownerType !== request.ownerType) return "FORBIDDEN";
  if (upload.status === "consumed") return "ALREADY_CONSUMED";
  if (upload.status !== "staged" || now >= upload.deadline) return "EXPIRED";
  return null;
}

type Verified = { code: Failure["code"] } | { code: null; info: StoredObjectInfo };

/**
 * Storage checks of one upload: HEAD (size, type, checksum), the first bytes (the real type), and
 * — when scanning is on — the bytes through the scanner. Throws DependencyUnavailableError when
 * storage or the scanner cannot answer (fail closed).
 */
async function verifyStored(deps: ConsumeDeps, upload: StagedUpload): Promise<Verified> {
  const log = deps.log ?? silentLog;
  const info = await deps.objects.head(upload.bucket, upload.key);
  if (!info) return { code: "NOT_UPLOADED" };
  if (info.size !== upload.size || info.contentType !== upload.contentType) return { code: "CONTENT_MISMATCH" };
  const unsigned = unsignedHeadersOf(info, serverMetadataFor(upload));
  if (unsigned.length > 0) {
    log.warn("object carries headers the server did not sign", { uploadId: upload.uploadId, headers: unsigned });
    return { code: "CONTENT_MISMATCH" };
  }
  if (upload.sha256 && info.checksumSha256 && info.checksumSha256 !== upload.sha256) return { code: "CONTENT_MISMATCH" };

  const head = await deps.objects.readFirstBytes(upload.bucket, upload.key, SNIFF_BYTES);
  if (!head) return { code: "NOT_UPLOADED" };
  const sniffed = await sniff(upload.contentType, head);
  if (!sniffed.matches) {
    log.warn("content does not match its declared type", { uploadId: upload.uploadId, declared: upload.contentType, detected: sniffed.detected });
    return { code: "CONTENT_MISMATCH" };
  }

  if (deps.scanner) {
    const maxBytes = deps.scanMaxBytes ?? upload.size;
    const stream = await deps.objects.stream(upload.bucket, upload.key, maxBytes);
    if (!stream) return { code: "NOT_UPLOADED" };
    if (upload.size > maxBytes)
      log.warn("object larger than SCAN_MAX_BYTES: only its beginning was scanned", { uploadId: upload.uploadId, size: upload.size, scannedBytes: maxBytes });
    const verdict = await deps.scanner.scan(stream, { bucket: upload.bucket, key: upload.key, maxBytes });
    if (!verdict.clean) {
      log.error("malware detected", { uploadId: upload.uploadId, orgId: upload.orgId, signature: verdict.signature });
      return { code: "MALWARE_DETECTED" };
    }
  }
  return { code: null, info };
}

const isIncomingCompliance = (deps: ConsumeDeps, upload: StagedUpload): boolean =>
  upload.bucket === deps.complianceBucket && upload.key.startsWith(INCOMING_PREFIX);

/** Where a verified upload is linked: staged media move to their linked key, incoming compliance uploads to records/; anything else stays. */
function linkedLocation(deps: ConsumeDeps, upload: StagedUpload): { bucket: string; key: string; locked: boolean } {
  if (isIncomingCompliance(deps, upload)) {
    if (!deps.recordsBucket) throw new TypeError("consume promotes compliance uploads into recordsBucket, which is not configured");
    return { bucket: deps.recordsBucket, key: recordsKeyFor(upload.key), locked: true };
  }
  // Media staged by presign (a record written before staging/ existed keeps its key).
  if (upload.bucket !== deps.complianceBucket && upload.key.startsWith(STAGING_PREFIX)) {
    return { bucket: upload.bucket, key: linkedKeyFor(upload.key), locked: false };
  }
  return { bucket: upload.bucket, key: upload.key, locked: false };
}

/**
 * Invariant: all or nothing. Either every id was staged, owned by `owner`, of `ownerType`, before
 * its deadline and stored as declared — and all are now consumed, their quota settled and the reply
 * kept for replay — or none is consumed and the error lists each failing id. Objects that are not
 * what was declared are deleted and their records dropped (the rest of the batch stays staged).
 * Cost: two store round trips and one parallel storage check per upload.
 */
export async function consume(deps: ConsumeDeps, request: ConsumeRequest): Promise<ConsumeResponse> {
  const { uploadIds, ownerType, owner } = request;
  const ownerUserId = ownerType === "form_signature" ? null : (owner.userId ?? null);
  if (ownerType !== "form_signature" && !ownerUserId) {
    throw new InvalidRequestError("owner.userId is required for this owner type.", [{ path: "owner.userId", message: "required" }]);
  }
  if (new Set(uploadIds).size !== uploadIds.length) {
    throw new InvalidRequestError("uploadIds must not repeat.", [{ path: "uploadIds", message: "duplicate ids" }]);
  }

  const replayKey = sha256Hex("consume", owner.orgId, request.idempotencyKey);
  const fingerprint = sha256Hex(JSON.stringify([uploadIds, ownerType, owner.orgId, ownerUserId]));
  const snapshot = await deps.store.loadForConsume(uploadIds, replayKey);
  if (snapshot.replay) return replayOf(snapshot.replay, fingerprint);

  const staged = snapshot.uploads;
  const stateFailures = uploadIds.flatMap((uploadId, i) => {
    const code = precheck(staged[i] ?? null, request, ownerUserId, snapshot.now);
    return code ? [{ uploadId, code }] : [];
  });
  if (stateFailures.length > 0) throw batchError(stateFailures);
  const uploads = staged as StagedUpload[];

  const verified = await Promise.all(uploads.map((u) => verifyStored(deps, u)));
  const storageFailures = uploads.flatMap((upload, i) => {
    const { code } = verified[i]!;
    return code ? [{ uploadId: upload.uploadId, code }] : [];
  });
  if (storageFailures.length > 0) {
    if (storageFailures.every((f) => f.code === "NOT_UPLOADED")) {
      const linked = await linkedMeanwhile(deps, request, ownerUserId, replayKey, fingerprint);
      if (linked) return linked;
    }
    await rejectContent(deps, uploads, storageFailures, owner.orgId);
    throw batchError(storageFailures);
  }

  // Staged uploads are promoted before the atomic step — compliance ones copied into records/ (under
  // the retention lock), staged media copied from staging/ to their linked key. First the whole
  // batch's deadlines are held, so the commit cannot lose a race with the deadline or the sweeper and
  // leave a promoted copy unlinked (docs/ARCHITECTURE.md, "Promotion").
  const finals = uploads.map((u) => linkedLocation(deps, u));
  const moves = uploads.map((u, i) => finals[i]!.key !== u.key || finals[i]!.bucket !== u.bucket);
  if (moves.some(Boolean)) {
    const held = await deps.store.holdForPromotion(uploadIds, deps.promotionHoldSeconds ?? PROMOTION_HOLD_SECONDS);
    if (!held.ok) throw batchError(held.failures);
  }
  const promoted = await Promise.all(uploads.map((u, i) => (moves[i] ? promote(deps, u, finals[i]!, (verified[i] as { info: StoredObjectInfo }).info) : null)));
  // A source gone since it was verified (deleted meanwhile) cannot be linked.
  const vanished = uploads.flatMap((u, i) => (moves[i] && promoted[i] === null ? [{ uploadId: u.uploadId, code: "NOT_UPLOADED" as const }] : []));
  if (vanished.length > 0) {
    const linked = await linkedMeanwhile(deps, request, ownerUserId, replayKey, fingerprint);
    if (linked) return linked;
    throw batchError(vanished);
  }

  const response: ConsumeResponse = {
    uploads: uploads.map((upload, i) => {
      const info = (verified[i] as { info: StoredObjectInfo }).info;
      const sha256 = info.checksumSha256 ?? upload.sha256;
      return {
        uploadId: upload.uploadId,
        bucket: finals[i]!.bucket,
        key: finals[i]!.key,
        contentType: upload.contentType,
        size: upload.size,
        etag: promoted[i]?.etag || info.etag,
        ...(sha256 ? { sha256 } : {}),
      };
    }),
  };

  // Every linked image and video of the media bucket is processed; compliance records stay as retained.
  const mediaJobs = response.uploads.map((u): MediaJob | null =>
    u.bucket !== deps.complianceBucket && u.bucket !== deps.recordsBucket && isProcessableMedia(u.contentType)
      ? { bucket: u.bucket, key: u.key, contentType: u.contentType, orgId: owner.orgId }
      : null,
  );
  const outcome = await deps.store.commitConsume({
    uploadIds,
    owner: { orgId: owner.orgId, userId: ownerUserId },
    ownerType,
    replayKey,
    stored: { fingerprint, response: JSON.stringify(response) },
    replayTtlSeconds: REPLAY_TTL_SECONDS,
    finalObjects: response.uploads.map((u) => ({ bucket: u.bucket, key: u.key })),
    mediaJobs,
  });
  if (outcome.ok) {
    const jobs = mediaJobs.filter((job): job is MediaJob => job !== null);
    if (deps.media) await handOffMediaJobs({ ...deps.media, ...(deps.log ? { log: deps.log } : {}) }, jobs);
    await removeStagedCopies(
      deps,
      uploads.filter((_, i) => moves[i]),
    );
    return response;
  }
  if ("replay" in outcome) return replayOf(outcome.replay, fingerprint);
  throw batchError(outcome.failures);
}

/**
 * A staged object missing may mean that a concurrent consume of the batch (a retry under the same
 * key, or another key) committed since our snapshot and deleted the staged copies after promoting
 * them. Reads the batch again: the stored reply under our key is the answer; a changed state is
 * thrown as that state's error (e.g. ALREADY_CONSUMED); null leaves the caller's NOT_UPLOADED.
 * One more store round trip, on this failure path only.
 */
async function linkedMeanwhile(
  deps: ConsumeDeps,
  request: ConsumeRequest,
  ownerUserId: string | null,
  replayKey: string,
  fingerprint: string,
): Promise<ConsumeResponse | null> {
  const again = await deps.store.loadForConsume(request.uploadIds, replayKey);
  if (again.replay) return replayOf(again.replay, fingerprint);
  const failures = request.uploadIds.flatMap((uploadId, i) => {
    const code = precheck(again.uploads[i] ?? null, request, ownerUserId, again.now);
    return code ? [{ uploadId, code }] : [];
  });
  if (failures.length > 0) throw batchError(failures);
  return null;
}

/**
 * Copies a verified staged object to where it is linked. Into the records bucket only unless an
 * earlier attempt's copy is already there: R2's lock refuses every write to a retained key, copies
 * included, so a retry must not copy again, and an object there with other bytes is never
 * overwritten (the lock would refuse anyway): that is a bug or tampering, refused loudly. A linked
 * media key is not locked and only ever written here, from this staged object: a retry (a crash
 * between copy and commit) simply copies again. Null when the source is gone.
 */
async function promote(
  deps: ConsumeDeps,
  upload: StagedUpload,
  to: { bucket: string; key: string; locked: boolean },
  source: StoredObjectInfo,
): Promise<{ etag: string } | null> {
  if (!to.locked) return deps.objects.copy(upload.bucket, upload.key, to.key, to.bucket);
  const existing = await deps.objects.head(to.bucket, to.key);
  if (!existing) return deps.objects.copy(upload.bucket, upload.key, to.key, to.bucket);
  const sameBytes =
    existing.size === source.size &&
    existing.etag === source.etag &&
    (existing.checksumSha256 === undefined || source.checksumSha256 === undefined || existing.checksumSha256 === source.checksumSha256);
  if (sameBytes) return { etag: existing.etag };
  (deps.log ?? silentLog).error("records key already holds other bytes; not overwritten", { uploadId: upload.uploadId, key: to.key });
  throw new Error(`${to.key} already holds other bytes than upload ${upload.uploadId}`);
}

/**
 * After promotion the staged copies (staging/ media, incoming/ signatures) are redundant. A failure
 * here only leaves a copy that the URL watch deletes at the upload's deadline (the commit listed
 * it), and the bucket's lifecycle expires after that.
 */
async function removeStagedCopies(deps: ConsumeDeps, promoted: StagedUpload[]): Promise<void> {
  for (const bucket of new Set(promoted.map((u) => u.bucket))) {
    try {
      const outcome = await deps.objects.deleteObjects(
        bucket,
        promoted.filter((u) => u.bucket === bucket).map((u) => u.key),
      );
      if (outcome.failed.length > 0) (deps.log ?? silentLog).warn("staged copies not deleted after promotion", { failed: outcome.failed });
    } catch (error) {
      (deps.log ?? silentLog).warn("staged copies not deleted after promotion", { error: String(error) });
    }
  }
}

/**
 * Deletes objects that are not what was declared (or carry malware), then drops their records and
 * gives back their bytes — object first, so no object is ever left off the sweeper's list.
 */
async function rejectContent(deps: ConsumeDeps, uploads: StagedUpload[], failures: Failure[], orgId: string): Promise<void> {
  const mismatched = new Set(failures.filter((f) => REJECTED_CONTENT.has(f.code)).map((f) => f.uploadId));
  const rejected = uploads.filter((u) => mismatched.has(u.uploadId));
  if (rejected.length === 0) return;
  const deleted = new Set<string>();
  for (const bucket of new Set(rejected.map((u) => u.bucket))) {
    const keys = rejected.filter((u) => u.bucket === bucket).map((u) => u.key);
    for (const key of (await deps.objects.deleteObjects(bucket, keys)).deleted) deleted.add(key);
  }
  await deps.store.discardStaged(
    rejected.filter((u) => deleted.has(u.key)).map((u) => u.uploadId),
    orgId,
  );
}
