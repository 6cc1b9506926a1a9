/**
 * Presign — the first stage. Checks the caller and every file against the owner-type policy,
 * stages all uploads in one atomic store step (rate limit, quota reservation, records, work list)
 * and signs one PUT URL per file that pins the exact length and type.
 */
import * as z from "zod";
import type { Identity } from "../auth/identity.js";
import type { UploadSettings } from "../config.js";
import { errorForCode, ForbiddenError, QuotaExceededError, RateLimitedError } from "../errors.js";
import { mediaKey } from "../policies/object-keys.js";
import { maxBytesFor, OWNER_TYPE_POLICIES } from "../policies/owner-types.js";
import { ownerTypeSchema, sha256Base64 } from "../policies/request-fields.js";
import type { UrlSigner } from "../storage/url-signer.js";
import { type Clock, systemClock } from "../time/clock.js";
import { type NewUpload, newUploadId } from "../uploads/upload.js";
import type { StagingStore } from "./staging-store.js";

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
});
export type PresignRequest = z.output<typeof presignRequestSchema>;

export interface PresignDeps {
  store: StagingStore;
  signer: UrlSigner;
  settings: Pick<UploadSettings, "presignTtlSeconds" | "stagingGraceSeconds" | "orgQuotaBytes" | "presignRatePerMinute">;
  /** Presign makes media keys only: compliance uploads (form signatures) arrive through their own route. */
  mediaBucket: string;
  clock?: Clock;
}

export interface PresignedUpload {
  uploadId: string;
  key: string;
  method: "PUT";
  url: string;
  headers: Record<string, string>;
  expiresAt: string;
}

/**
 * Invariant: either every file is staged (quota reserved, record and work-list entry written)
 * and signed, or nothing is staged and an error explains each failing file.
 */
export async function presign(deps: PresignDeps, identity: Identity, request: PresignRequest): Promise<{ uploads: PresignedUpload[] }> {
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
  const outcome = await deps.store.stage({
    uploads,
    lifetimeSeconds: presignTtlSeconds + stagingGraceSeconds,
    quota: { orgId, defaultQuotaBytes: deps.settings.orgQuotaBytes },
    rateLimit: { subject: `presign:${userId}`, limit: deps.settings.presignRatePerMinute, windowSeconds: 60 },
  });
  if (!outcome.ok) {
    if (outcome.reason === "rate_limited") {
      throw new RateLimitedError("Too many upload requests; try again later.", outcome.retryAfterSeconds);
    }
    throw new QuotaExceededError("The organisation's storage quota does not allow these uploads.", [
      { remainingBytes: outcome.remainingBytes, requestedBytes: uploads.reduce((sum, u) => sum + u.size, 0) },
    ]);
  }

  // SigV4 dates have whole seconds: sign at one, so expiresAt is exactly when storage stops accepting.
  const signingDate = new Date(Math.floor((deps.clock ?? systemClock).now() / 1000) * 1000);
  const expiresAt = new Date(signingDate.getTime() + presignTtlSeconds * 1000).toISOString();
  return {
    uploads: await Promise.all(
      uploads.map(async (upload) => {
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
