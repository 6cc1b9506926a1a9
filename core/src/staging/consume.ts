/**
 * Consume — the second stage: link staged uploads to a parent record exactly once.
 * Called by the service that writes the parent, before it commits.
 */
import { errorForCode, InvalidRequestError, type ErrorCode } from "../errors.js";
import { sha256Hex } from "../hashing.js";
import type { ObjectStore, StoredObjectInfo } from "../storage/object-store.js";
import type { ConsumeRequest } from "./schemas.js";
import type { StagedUpload, StagingStore, StoredConsume } from "./staging-store.js";

export interface ConsumeDeps {
  store: StagingStore;
  objects: ObjectStore;
}

export interface ConsumedUpload {
  uploadId: string;
  bucket: string;
  key: string;
  contentType: string;
  size: number;
  etag: string;
  sha256?: string;
}

export interface ConsumeResponse {
  uploads: ConsumedUpload[];
}

type Failure = { uploadId: string; code: Exclude<ErrorCode, "RATE_LIMITED" | "DEPENDENCY_UNAVAILABLE" | "INTERNAL"> };

/** Replies for 24 h to a repeated call with the same idempotency key. */
export const REPLAY_TTL_SECONDS = 24 * 3600;

const MESSAGES: Partial<Record<Failure["code"], string>> = {
  NOT_FOUND: "Unknown upload.",
  FORBIDDEN: "The upload does not belong to this owner or owner type.",
  ALREADY_CONSUMED: "The upload is already linked.",
  EXPIRED: "The upload's staging deadline has passed.",
  NOT_UPLOADED: "The object is not in storage yet.",
  CONTENT_MISMATCH: "The stored object differs from what was declared.",
};

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

function verifyStored(upload: StagedUpload, info: StoredObjectInfo | null): Failure["code"] | null {
  if (!info) return "NOT_UPLOADED";
  if (info.size !== upload.size || info.contentType !== upload.contentType) return "CONTENT_MISMATCH";
  if (upload.sha256 && info.checksumSha256 && info.checksumSha256 !== upload.sha256) return "CONTENT_MISMATCH";
  return null;
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

  const stored = await Promise.all(uploads.map((u) => deps.objects.head(u.bucket, u.key)));
  const storageFailures = uploads.flatMap((upload, i) => {
    const code = verifyStored(upload, stored[i] ?? null);
    return code ? [{ uploadId: upload.uploadId, code }] : [];
  });
  if (storageFailures.length > 0) {
    await rejectMismatched(deps, uploads, storageFailures, owner.orgId);
    throw batchError(storageFailures);
  }

  const response: ConsumeResponse = {
    uploads: uploads.map((upload, i) => {
      const info = stored[i]!;
      const sha256 = info.checksumSha256 ?? upload.sha256;
      return {
        uploadId: upload.uploadId,
        bucket: upload.bucket,
        key: upload.key,
        contentType: upload.contentType,
        size: upload.size,
        etag: info.etag,
        ...(sha256 ? { sha256 } : {}),
      };
    }),
  };

  const outcome = await deps.store.commitConsume({
    uploadIds,
    owner: { orgId: owner.orgId, userId: ownerUserId },
    ownerType,
    replayKey,
    stored: { fingerprint, response: JSON.stringify(response) },
    replayTtlSeconds: REPLAY_TTL_SECONDS,
    finalObjects: response.uploads.map((u) => ({ bucket: u.bucket, key: u.key })),
  });
  if (outcome.ok) return response;
  if ("replay" in outcome) return replayOf(outcome.replay, fingerprint);
  throw batchError(outcome.failures);
}

/** Deletes objects that are not what was declared, then drops their records (object first: never an unlisted object). */
async function rejectMismatched(deps: ConsumeDeps, uploads: StagedUpload[], failures: Failure[], orgId: string): Promise<void> {
  const mismatched = new Set(failures.filter((f) => f.code === "CONTENT_MISMATCH").map((f) => f.uploadId));
  const rejected = uploads.filter((u) => mismatched.has(u.uploadId));
  if (rejected.length === 0) return;
  const deleted = new Set<string>();
  for (const bucket of new Set(rejected.map((u) => u.bucket))) {
    const keys = rejected.filter((u) => u.bucket === bucket).map((u) => u.key);
    (await deps.objects.deleteObjects(bucket, keys)).deleted.forEach((key) => deleted.add(key));
  }
  await deps.store.discardStaged(
    rejected.filter((u) => deleted.has(u.key)).map((u) => u.uploadId),
    orgId,
  );
}
