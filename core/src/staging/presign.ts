/**
 * Presign — the first stage. Checks the caller and every file against the owner-type policy,
 * stages all uploads in one atomic store step (rate limit, org quota and the user's bytes in
 * flight, records, work lists, the idempotency reply) and signs one PUT URL per file that pins
 * the exact length and type.
 */
import * as z from "zod";
import type { Identity } from "../auth/identity.js";
import type { UploadSettings } from "../config.js";
import { errorForCode, ForbiddenError, InvalidRequestError, QuotaExceededError, RateLimitedError } from "../errors.js";
import { sha256Hex } from "../hashing.js";
import { mediaKey } from "../policies/object-keys.js";
import { maxBytesFor, OWNER_TYPE_POLICIES } from "../policies/owner-types.js";
import { idempotencyKeySchema, ownerTypeSchema, sha256Base64 } from "../policies/request-fields.js";
import type { UrlSigner } from "../storage/url-signer.js";
import { type Clock, systemClock } from "../time/clock.js";
import { type NewUpload, newUploadId } from "../uploads/upload.js";
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
  >;
  /** Presign makes media keys only: compliance uploads (form signatures) arrive through their own route. */
  mediaBucket: string;
  clock?: Clock;
}

/** One signed PUT: the exact headers the client must send with it, and when storage stops accepting it. */
export const presignedUploadSchema = z.object({
  uploadId: z.string(),
  key: z.string(),
  method: z.literal("PUT"),
  url: z.url(),
  headers: z.record(z.string(), z.string()),
  expiresAt: z.iso.datetime(),
});
export type PresignedUpload = z.output<typeof presignedUploadSchema>;

/** The reply of `POST /uploads` (docs/openapi.json); documented, never parsed at run time. */
export const presignResponseSchema = z.object({ uploads: z.array(presignedUploadSchema) });
export type PresignResponse = z.output<typeof presignResponseSchema>;

/** What a presign keeps under its idempotency key: enough to answer a retry with the same uploads. */
interface StoredPresign {
  uploads: { uploadId: string; key: string }[];
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

  const { orgId, userId } = identity;
  const uploads: NewUpload[] = files.map((file) => {
    const uploadId = newUploadId();
    return {
      uploadId,
      ownerType,
      orgId,
      userId,
      bucket: deps.mediaBucket,
      key: mediaKey({ orgId, ownerType, userId, uploadId, contentType: file.contentType }),
      contentType: file.contentType,
      size: file.size,
      ...(file.sha256 ? { sha256: file.sha256 } : {}),
      ...(file.fileName ? { fileName: file.fileName } : {}),
    };
  });

  const { presignTtlSeconds, stagingGraceSeconds } = deps.settings;
  // SigV4 dates have whole seconds: sign at one, so expiresAt is exactly when storage stops accepting.
  // Chosen before staging so that the idempotency reply (written by the same step) can carry it.
  const signedAt = Math.floor((deps.clock ?? systemClock).now() / 1000) * 1000;
  const fingerprint = sha256Hex(JSON.stringify([ownerType, files.map((f) => [f.contentType, f.size, f.fileName ?? null, f.sha256 ?? null])]));
  const first: StoredPresign = { uploads: uploads.map(({ uploadId, key }) => ({ uploadId, key })), signedAt };
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
        return { uploadId: upload.uploadId, key: upload.key, method: "PUT" as const, url: signed.url, headers: signed.headers, expiresAt };
      }),
    ),
  };
}

function replayOf(stored: StoredReply, fingerprint: string): StoredPresign {
  if (stored.fingerprint !== fingerprint) {
    throw new InvalidRequestError("This idempotencyKey was already used for a different presign request.", [
      { path: "idempotencyKey", message: "already used for a different request" },
    ]);
  }
  return JSON.parse(stored.response) as StoredPresign;
}
