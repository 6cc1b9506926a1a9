/**
 * Presign — the first stage. Checks the caller and every file against the owner-type policy,
 * stages all uploads in one atomic store step (rate limit, org quota and the user's bytes in
 * flight, records, work lists, the idempotency reply) and signs one PUT URL per file that pins
 * the exact length and type.
 */
import * as z from "zod";
import type { Identity } from "../auth/identity.js";
import type { UploadSettings } from "../config.js";
import { erasureInProgress, errorForCode, ForbiddenError, InvalidRequestError, QuotaExceededError, RateLimitedError } from "../errors.js";
import { sha256Hex } from "../hashing.js";
import { planParts } from "../multipart/part-plan.js";
import { mediaKey } from "../policies/object-keys.js";
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
    .max(10),
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
  /** Storage, to begin multipart uploads (CreateMultipartUpload) and abort them when staging is refused. */
  objects?: Pick<ObjectStore, "createMultipart" | "abortMultipart">;
  /** Presign makes media keys only: compliance uploads (form signatures) arrive through their own route. */
  mediaBucket: string;
  clock?: Clock;
}

/** `multipartThresholdBytes` when the settings leave it out: 64 MiB. */
export const DEFAULT_MULTIPART_THRESHOLD_BYTES = 64 * 1024 * 1024;
/** `multipartPartBytes` when the settings leave it out: 8 MiB. */
export const DEFAULT_MULTIPART_PART_BYTES = 8 * 1024 * 1024;

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

/** What a presign keeps under its idempotency key: enough to answer a retry with the same uploads. */
interface StoredPresign {
  uploads: { uploadId: string; key: string; multipart?: MultipartPlan }[];
  /** The signing time (ms, whole second) of the first answer: a replay signs the same URLs. */
  signedAt: number;
}

/**
 * Invariant: either every file is staged (quota and the user's bytes in flight reserved, record and
 * work-list entries written) and signed, or nothing is staged and an error explains each failing
 * file. With an `idempotencyKey`, the first answer is kept in that same step: a retry by the same
 * user with the same request answers the same uploads (URLs signed at the same second, so equal)
 * and stages nothing, whatever became of them since; another request under the key is refused.
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
  const uploads: NewUpload[] = files.map((file, index) => {
    const uploadId = newUploadId();
    const multipart = inParts[index];
    return {
      uploadId,
      ownerType,
      orgId,
      userId,
      bucket: deps.mediaBucket,
      key: mediaKey({ orgId, ownerType, userId, uploadId, contentType: file.contentType }),
      contentType: file.contentType,
      size: file.size,
      // Storage verifies no whole-object checksum of a multipart upload: the client's is not kept.
      ...(file.sha256 && !multipart ? { sha256: file.sha256 } : {}),
      ...(file.fileName ? { fileName: file.fileName } : {}),
    };
  });
  // Storage's multipart uploads begin before staging, so the record carries their ids.
  await beginMultipart(deps, uploads, inParts);

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
    uploads: uploads.map(({ uploadId, key, multipart }) => ({ uploadId, key, ...(multipart ? { multipart } : {}) })),
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
  // Refused, or a replay (answering the first request's uploads): the uploads begun here are not used.
  if (!outcome.ok || outcome.replayed) await abortMultipart(deps, uploads);
  if (!outcome.ok) {
    if (outcome.reason === "erasing") throw erasureInProgress();
    if (outcome.reason === "rate_limited") {
      throw new RateLimitedError("Too many upload requests; try again later.", outcome.retryAfterSeconds);
    }
    const requestedBytes = uploads.reduce((sum, u) => sum + u.size, 0);
    throw new QuotaExceededError(
      outcome.limit === "user_in_flight"
        ? "You have too many uploads in progress; finish or wait for them before starting more."
        : "The organisation's storage quota does not allow these uploads.",
      [{ limit: outcome.limit, remainingBytes: outcome.remainingBytes, requestedBytes, limitBytes: outcome.limitBytes }],
    );
  }
  const answered = outcome.replayed ? replayOf(outcome.replayed, fingerprint) : first;

  const signingDate = new Date(answered.signedAt);
  const expiresAt = new Date(answered.signedAt + presignTtlSeconds * 1000).toISOString();
  return {
    uploads: await Promise.all(
      uploads.map(async (fresh, i) => {
        // A replay's ids and keys are the first answer's; everything else was in the identical request.
        const upload = { ...fresh, ...answered.uploads[i]! };
        if (upload.multipart) {
          const { partSize, partCount } = upload.multipart;
          return { uploadId: upload.uploadId, key: upload.key, mode: "multipart" as const, partSize, partCount };
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
          key: upload.key,
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

async function beginMultipart(deps: PresignDeps, uploads: NewUpload[], inParts: boolean[]): Promise<void> {
  if (!inParts.some(Boolean)) return;
  const objects = deps.objects;
  if (!objects) throw new Error("presign needs object storage (deps.objects) to begin multipart uploads");
  const partBytes = deps.settings.multipartPartBytes ?? DEFAULT_MULTIPART_PART_BYTES;
  try {
    await Promise.all(
      uploads.map(async (upload, index) => {
        if (!inParts[index]) return;
        const { storageUploadId } = await objects.createMultipart(upload.bucket, upload.key, upload.contentType);
        upload.multipart = { storageUploadId, ...planParts(upload.size, partBytes) };
      }),
    );
  } catch (error) {
    await abortMultipart(deps, uploads);
    throw error;
  }
}

/** Best effort: an upload left behind is aborted by the bucket's lifecycle rule. */
async function abortMultipart(deps: PresignDeps, uploads: NewUpload[]): Promise<void> {
  await Promise.all(
    uploads.map((upload) =>
      upload.multipart ? deps.objects?.abortMultipart(upload.bucket, upload.key, upload.multipart.storageUploadId).catch(() => false) : undefined,
    ),
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
