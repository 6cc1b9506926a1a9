/**
 * Presign — the first stage. Checks the caller and every file against the owner-type policy,
 * stages all uploads in one atomic store step (rate limit, org quota and the user's bytes in
 * flight, records, work lists, the idempotency reply) and signs one PUT URL per file that pins
 * the exact length and type. Multipart uploads begin in storage only after that step let the
 * request through, and are attached to their records in a second step.
 */
import * as z from "zod";
import type { Identity } from "../auth/identity.js";
import type { UploadSettings } from "../config.js";
import { DEFAULT_MULTIPART_PART_BYTES, DEFAULT_MULTIPART_THRESHOLD_BYTES, PRESIGN_MAX_FILES } from "../contract/catalog.js";
import { erasureInProgress, errorForCode, ForbiddenError, InvalidRequestError, QuotaExceededError, RateLimitedError } from "../errors.js";
import { sha256Hex } from "../hashing.js";
import { planParts } from "../multipart/part-plan.js";
import { announcedMediaKey, stagedMediaKey } from "../policies/object-keys.js";
import { maxBytesFor, OWNER_TYPE_POLICIES } from "../policies/owner-types.js";
import { idempotencyKeySchema, ownerTypeSchema, sha256Base64 } from "../policies/request-fields.js";
import type { ObjectStore } from "../storage/object-store.js";
import type { UrlSigner } from "../storage/url-signer.js";
import { type Clock, systemClock } from "../time/clock.js";
import { type MultipartPlan, type NewUpload, newUploadId } from "../uploads/upload.js";
import type { StagingStore, StoredReply } from "./staging-store.js";

export const presignRequestSchema = z.object({
  ownerType: ownerTypeSchema,
  files: z
    .array(
      z.object({
        contentType: z.string().min(1).max(255),
        size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
        // Metadata only, but it is stored: refuse text that is not well-formed Unicode (lone surrogates).
        fileName: z
          .string()
          .min(1)
          .max(255)
          .refine((name) => name.isWellFormed(), "must be well-formed Unicode text")
          .optional(),
        sha256: sha256Base64.optional(),
        /**
         * `true` asks for a multipart upload (videos only); larger files than the threshold get one
         * unless this is `false` (a client that only sends single PUTs).
         */
        multipart: z.boolean().optional(),
      }),
    )
    .min(1)
    .max(PRESIGN_MAX_FILES),
  /** A retry under the same key (same user) answers the same uploads and reserves nothing more. */
  idempotencyKey: idempotencyKeySchema.optional(),
});
export type PresignRequest = z.output<typeof presignRequestSchema>;

export interface PresignDeps {
  store: StagingStore;
  signer: UrlSigner;
  settings: Pick<
    UploadSettings,
    "presignTtlSeconds" | "stagingGraceSeconds" | "orgQuotaBytes" | "userInFlightBytes" | "presignIdempotencySeconds" | "presignRatePerMinute"
  > &
    Partial<Pick<UploadSettings, "multipartThresholdBytes" | "multipartPartBytes">>;
  /** Storage, to begin multipart uploads (CreateMultipartUpload) once staged, and abort them on any later failure. */
  objects?: Pick<ObjectStore, "createMultipart" | "abortMultipart">;
  /** Presign makes media keys only: compliance uploads (form signatures) arrive through their own route. */
  mediaBucket: string;
  clock?: Clock;
}

/** One signed PUT: the exact headers the client must send with it, and when storage stops accepting it (also what the public signature route answers). */
export const presignedPutUploadSchema = z.object({
  uploadId: z.string(),
  key: z.string(),
  method: z.literal("PUT"),
  url: z.url(),
  headers: z.record(z.string(), z.string()),
  expiresAt: z.iso.datetime(),
});
export type PresignedPutUpload = z.output<typeof presignedPutUploadSchema>;

export interface SinglePutUpload extends PresignedPutUpload {
  mode: "single";
}

/** No URL: the client asks `POST /uploads/{uploadId}/parts` for part URLs, then `/complete`. */
export interface MultipartUpload {
  uploadId: string;
  key: string;
  mode: "multipart";
  /** Every part is this long but the last (the remainder). */
  partSize: number;
  partCount: number;
}

export type PresignedUpload = SinglePutUpload | MultipartUpload;

export const presignedUploadSchema = z.discriminatedUnion("mode", [
  z.object({
    uploadId: z.string(),
    key: z.string(),
    mode: z.literal("single"),
    method: z.literal("PUT"),
    url: z.url(),
    headers: z.record(z.string(), z.string()),
    expiresAt: z.string(),
  }),
  z.object({ uploadId: z.string(), key: z.string(), mode: z.literal("multipart"), partSize: z.number().int(), partCount: z.number().int() }),
]);
export const presignResponseSchema = z.object({ uploads: z.array(presignedUploadSchema) });
export type PresignResponse = z.output<typeof presignResponseSchema>;

/** A multipart upload's part plan, as answered (storage's upload id stays on the record). */
type PartPlan = Pick<MultipartPlan, "partSize" | "partCount">;

/** What a presign keeps under its idempotency key: enough to answer a retry with the same uploads. */
interface StoredPresign {
  /** `key` is the record's (staged) key; replies announce its linked key. `multipart`: the part plan (replies stored before multipart began after staging also carry storage's id). */
  uploads: { uploadId: string; key: string; multipart?: PartPlan }[];
  /** The signing time (ms, whole second) of the first answer: a replay signs the same URLs. */
  signedAt: number;
}

/**
 * Invariant: either every file is staged (quota and the user's bytes in flight reserved, record and
 * work-list entries written) and signed, or nothing is staged and an error explains each failing
 * file. With an `idempotencyKey`, the first answer is kept in that same step: a retry by the same
 * user with the same request answers the same uploads (URLs signed at the same second, so equal)
 * and stages nothing, whatever became of them since; another request under the key is refused.
 * Storage's multipart uploads begin only after the stage step passed the rate limit and quotas (a
 * refused request begins none); if beginning or attaching them fails, every one begun is aborted
 * and the staged uploads discarded — or, under an idempotency key, left for the retry, whose replay
 * begins what is still unbegun (a record nobody retries is released early and swept).
 */
export async function presign(deps: PresignDeps, identity: Identity, request: PresignRequest): Promise<PresignResponse> {
  const { ownerType, files } = request;
  const policy = OWNER_TYPE_POLICIES[ownerType];
  if (!identity.orgId || !identity.role) throw new ForbiddenError("An active organisation is required to upload.");
  if (!policy.createRoles.includes(identity.role)) {
    throw new ForbiddenError(
      policy.createRoles.length === 0
        ? `${ownerType} uploads are only accepted through their own route.`
        : `The ${identity.role} role may not upload ${ownerType}.`,
    );
  }
  // Keys made here are media keys; a compliance owner type must have its own route (see signatures/).
  if (policy.bucket !== "media") throw new ForbiddenError(`${ownerType} uploads are only accepted through their own route.`);

  type FileFailure = { index: number; code: "UNSUPPORTED_MEDIA_TYPE" | "TOO_LARGE"; maxBytes?: number };
  const failures = files.flatMap((file, index): FileFailure[] => {
    const maxBytes = maxBytesFor(ownerType, file.contentType);
    if (maxBytes === undefined) return [{ index, code: "UNSUPPORTED_MEDIA_TYPE" }];
    if (file.size > maxBytes) return [{ index, code: "TOO_LARGE", maxBytes }];
    return [];
  });
  if (failures.length > 0) {
    const first = failures[0]!;
    throw errorForCode(
      first.code,
      first.code === "TOO_LARGE"
        ? `File ${first.index} is larger than ${ownerType} allows.`
        : `File ${first.index}: this type is not accepted for ${ownerType}.`,
      failures,
    );
  }

  const threshold = deps.settings.multipartThresholdBytes ?? DEFAULT_MULTIPART_THRESHOLD_BYTES;
  // `multipart: false` keeps a single PUT whatever the size (a client without multipart support).
  const inParts = files.map(
    (file) => file.multipart !== false && (file.size > threshold || (file.multipart === true && file.contentType.startsWith("video/"))),
  );
  const notVideo = files.findIndex((file, index) => file.multipart === true && !inParts[index]);
  if (notVideo >= 0) {
    throw new InvalidRequestError(`File ${notVideo}: only videos are uploaded in parts on request.`, [
      { path: `files.${notVideo}.multipart`, message: "only for videos (or files over the multipart threshold)" },
    ]);
  }

  const { orgId, userId } = identity;
  const partBytes = deps.settings.multipartPartBytes ?? DEFAULT_MULTIPART_PART_BYTES;
  const plans = files.map((file, index): PartPlan | undefined => (inParts[index] ? planParts(file.size, partBytes) : undefined));
  if (plans.some(Boolean) && !deps.objects) throw new Error("presign needs object storage (deps.objects) to begin multipart uploads");
  const uploads: NewUpload[] = files.map((file, index) => {
    const uploadId = newUploadId();
    const multipart = inParts[index];
    return {
      uploadId,
      ownerType,
      orgId,
      userId,
      bucket: deps.mediaBucket,
      // Staged under staging/ (expired by the bucket's lifecycle); consume copies it to the linked key.
      key: stagedMediaKey({ orgId, ownerType, userId, uploadId, contentType: file.contentType }),
      contentType: file.contentType,
      size: file.size,
      // Storage verifies no whole-object checksum of a multipart upload: the client's is not kept.
      ...(file.sha256 && !multipart ? { sha256: file.sha256 } : {}),
      ...(file.fileName ? { fileName: file.fileName } : {}),
    };
  });
  const { presignTtlSeconds, stagingGraceSeconds } = deps.settings;
  // SigV4 dates have whole seconds: sign at one, so expiresAt is exactly when storage stops accepting.
  // Chosen before staging so that the idempotency reply (written by the same step) can carry it.
  const signedAt = Math.floor((deps.clock ?? systemClock).now() / 1000) * 1000;
  const fingerprint = sha256Hex(
    JSON.stringify([
      ownerType,
      files.map((f) => [f.contentType, f.size, f.fileName ?? null, f.sha256 ?? null, ...(f.multipart === undefined ? [] : [f.multipart])]),
    ]),
  );
  const first: StoredPresign = {
    uploads: uploads.map(({ uploadId, key }, i) => ({ uploadId, key, ...(plans[i] ? { multipart: plans[i] } : {}) })),
    signedAt,
  };
  const outcome = await deps.store.stage({
    uploads,
    lifetimeSeconds: presignTtlSeconds + stagingGraceSeconds,
    urlLifetimeSeconds: presignTtlSeconds,
    quota: { orgId, defaultQuotaBytes: deps.settings.orgQuotaBytes, userInFlightBytes: deps.settings.userInFlightBytes },
    rateLimit: { subject: `presign:${userId}`, limit: deps.settings.presignRatePerMinute, windowSeconds: 60 },
    ...(request.idempotencyKey
      ? {
          replay: {
            // Scoped to the user: another user's identical key is another request.
            key: sha256Hex("presign", orgId, userId, request.idempotencyKey),
            stored: { fingerprint, response: JSON.stringify(first) },
            ttlSeconds: deps.settings.presignIdempotencySeconds ?? presignTtlSeconds,
          },
        }
      : {}),
  });
  if (!outcome.ok) {
    if (outcome.reason === "erasing") throw erasureInProgress();
    if (outcome.reason === "rate_limited") {
      throw new RateLimitedError("Too many upload requests; try again later.", outcome.retryAfterSeconds);
    }
    const requestedBytes = uploads.reduce((sum, u) => sum + u.size, 0);
    // The caller's own cap is theirs to know; the org's figures are an admin's only.
    const figures = outcome.limit === "user_in_flight" || identity.role === "admin";
    throw new QuotaExceededError(
      outcome.limit === "user_in_flight"
        ? "You have too many uploads in progress; finish or wait for them before starting more."
        : "The organisation's storage quota does not allow these uploads.",
      [{ limit: outcome.limit, requestedBytes, ...(figures ? { remainingBytes: outcome.remainingBytes, limitBytes: outcome.limitBytes } : {}) }],
    );
  }
  const answered = outcome.replayed ? replayOf(outcome.replayed, fingerprint) : first;
  // Only now, with the limits passed and the records written, do storage's multipart uploads begin.
  // A retry under an idempotency key can then resume what a failure left unbegun, so only a request
  // without one has its records discarded on failure.
  if (outcome.replayed) await resumeMultipart(deps, answered);
  else await beginMultipart(deps, uploads, plans, { discardOnFailure: !request.idempotencyKey });

  const signingDate = new Date(answered.signedAt);
  const expiresAt = new Date(answered.signedAt + presignTtlSeconds * 1000).toISOString();
  return {
    uploads: await Promise.all(
      uploads.map(async (fresh, i) => {
        // A replay's ids and keys are the first answer's; everything else was in the identical request.
        const upload = { ...fresh, ...answered.uploads[i]! };
        if (upload.multipart) {
          const { partSize, partCount } = upload.multipart as PartPlan;
          return { uploadId: upload.uploadId, key: announcedMediaKey(upload.key), mode: "multipart" as const, partSize, partCount };
        }
        const signed = await deps.signer.presignPut({
          bucket: upload.bucket,
          key: upload.key,
          contentType: upload.contentType,
          contentLength: upload.size,
          ...(upload.sha256 ? { checksumSha256: upload.sha256 } : {}),
          ifNoneMatch: true,
          expiresInSeconds: presignTtlSeconds,
          signingDate,
        });
        return {
          uploadId: upload.uploadId,
          key: announcedMediaKey(upload.key),
          mode: "single" as const,
          method: "PUT" as const,
          url: signed.url,
          headers: signed.headers,
          expiresAt,
        };
      }),
    ),
  };
}

/**
 * Begins storage's multipart upload for each planned upload and attaches it to its (staged) record.
 * On any failure — storage refusing a create, Redis unreachable for the attach — every upload begun
 * is aborted and (with `discardOnFailure`) the staged uploads are discarded, their reservation given
 * back; then the error is thrown. No storage upload is left open without a record that names it.
 * Records left staged without a plan are resumed by a replay, or released early and swept.
 */
async function beginMultipart(deps: PresignDeps, uploads: NewUpload[], plans: (PartPlan | undefined)[], options: { discardOnFailure: boolean }): Promise<void> {
  const objects = deps.objects;
  if (!objects || !plans.some(Boolean)) return;
  const begun: { upload: NewUpload; multipart: MultipartPlan }[] = [];
  try {
    // Settled, not Promise.all: every create that succeeds is known before any is aborted.
    const created = await Promise.allSettled(
      uploads.map(async (upload, index) => {
        const plan = plans[index];
        if (!plan) return;
        const { storageUploadId } = await objects.createMultipart(upload.bucket, upload.key, upload.contentType);
        begun.push({ upload, multipart: { storageUploadId, ...plan } });
      }),
    );
    const failed = created.find((c): c is PromiseRejectedResult => c.status === "rejected");
    if (failed) throw failed.reason;
    const { attached } = await deps.store.attachMultipart(begun.map(({ upload, multipart }) => ({ uploadId: upload.uploadId, multipart })));
    // Not attached: a concurrent replay attached its own first (or the record left `staged`); ours is not named, so it goes.
    const unnamed = begun.filter(({ upload }) => !attached.includes(upload.uploadId));
    await Promise.all(unnamed.map(({ upload, multipart }) => objects.abortMultipart(upload.bucket, upload.key, multipart.storageUploadId).catch(() => false)));
  } catch (error) {
    await Promise.all(begun.map(({ upload, multipart }) => objects.abortMultipart(upload.bucket, upload.key, multipart.storageUploadId).catch(() => false)));
    if (options.discardOnFailure) {
      await deps.store
        .discardStaged(
          uploads.map((u) => u.uploadId),
          uploads[0]!.orgId,
        )
        .catch(() => undefined);
    }
    throw error;
  }
}

/**
 * A replay of a presign whose multipart uploads did not all begin (storage or Redis failed after
 * the stage step): begins, in storage, those whose records are still staged without a plan. One
 * more store read, only when the replayed answer has multipart uploads.
 */
async function resumeMultipart(deps: PresignDeps, answered: StoredPresign): Promise<void> {
  const planned = answered.uploads.filter((u) => u.multipart);
  if (planned.length === 0) return;
  const records = await deps.store.uploadRecords(planned.map((u) => u.uploadId));
  const unbegun = records.flatMap((record, i) => (record?.status === "staged" && !record.multipart ? [{ record, plan: planned[i]!.multipart }] : []));
  if (unbegun.length === 0) return;
  await beginMultipart(
    deps,
    unbegun.map((u) => u.record),
    unbegun.map((u) => u.plan),
    { discardOnFailure: false },
  );
}

function replayOf(stored: StoredReply, fingerprint: string): StoredPresign {
  if (stored.fingerprint !== fingerprint) {
    throw new InvalidRequestError("This idempotencyKey was already used for a different presign request.", [
      { path: "idempotencyKey", message: "already used for a different request" },
    ]);
  }
  return JSON.parse(stored.response) as StoredPresign;
}
