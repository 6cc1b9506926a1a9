/**
 * POST /uploads/{uploadId}/parts — presigned UploadPart URLs for parts of a multipart upload, each
 * signing that part's exact length (storage refuses a part of another size). Signing moves the
 * upload's staging deadline forward, so an upload that keeps sending parts is not swept.
 */
import * as z from "zod";
import type { Identity } from "../auth/identity.js";
import type { UploadSettings } from "../config.js";
import { MAX_PARTS, MAX_PARTS_PER_SIGNING } from "../contract/catalog.js";
import { ExpiredError, InvalidRequestError, NotFoundError } from "../errors.js";
import type { StagingStore } from "../staging/staging-store.js";
import type { UrlSigner } from "../storage/url-signer.js";
import { type Clock, systemClock } from "../time/clock.js";
import { loadOwnStagedUpload } from "./own-upload.js";
import { partSizeOf } from "./part-plan.js";

export const signPartsRequestSchema = z.object({
  partNumbers: z.array(z.number().int().min(1).max(MAX_PARTS)).min(1).max(MAX_PARTS_PER_SIGNING),
});
export type SignPartsRequest = z.output<typeof signPartsRequestSchema>;

export const signedPartSchema = z.object({
  partNumber: z.number().int(),
  url: z.url(),
  /** Headers to send exactly (`content-length`, which a browser sets from the body itself). */
  headers: z.record(z.string(), z.string()),
});
export const signPartsResponseSchema = z.object({
  parts: z.array(signedPartSchema),
  /** When these URLs stop working (ISO 8601). */
  expiresAt: z.string(),
});
export type SignPartsResponse = z.output<typeof signPartsResponseSchema>;

export interface SignPartsDeps {
  store: Pick<StagingStore, "loadForConsume" | "extendStaging">;
  signer: Pick<UrlSigner, "presignUploadPart">;
  settings: Pick<UploadSettings, "presignTtlSeconds" | "stagingGraceSeconds" | "multipartMaxLifetimeSeconds">;
  clock?: Clock;
}

/**
 * Invariant: URLs are signed only for the uploader of a staged multipart upload, for part numbers
 * of its plan, each pinning the planned length; before signing, the deadline is moved to at least
 * the URLs' expiry plus the staging grace (never past createdAt + `multipartMaxLifetimeSeconds`),
 * in one atomic store step — so a part sent with a URL from here lands before the sweeper may act.
 */
export async function signParts(deps: SignPartsDeps, identity: Identity, uploadId: string, request: SignPartsRequest): Promise<SignPartsResponse> {
  const upload = await loadOwnStagedUpload(deps.store, identity, uploadId);
  const plan = upload.multipart;
  if (!plan) throw new NotFoundError("This upload is a single PUT, not a multipart upload.");
  const outOfPlan = request.partNumbers.filter((n) => n > plan.partCount);
  if (outOfPlan.length > 0) {
    throw new InvalidRequestError(`This upload has ${plan.partCount} parts.`, [{ path: "partNumbers", message: `out of range: ${outOfPlan.join(", ")}` }]);
  }
  const { presignTtlSeconds, stagingGraceSeconds, multipartMaxLifetimeSeconds } = deps.settings;
  const extended = await deps.store.extendStaging(uploadId, {
    extendSeconds: presignTtlSeconds + stagingGraceSeconds,
    maxLifetimeSeconds: multipartMaxLifetimeSeconds,
  });
  if (!extended.ok) throw new ExpiredError("This upload has expired.");
  // The URLs never outlive the deadline: near the maximum lifetime they are shorter.
  const signedAt = Math.floor((deps.clock ?? systemClock).now() / 1000) * 1000;
  const expiresInSeconds = Math.min(presignTtlSeconds, Math.floor((extended.deadline - signedAt) / 1000) - stagingGraceSeconds);
  if (expiresInSeconds < 1) throw new ExpiredError("This upload has reached its maximum lifetime.");
  const signingDate = new Date(signedAt);
  const unique = [...new Set(request.partNumbers)];
  return {
    parts: await Promise.all(
      unique.map(async (partNumber) => {
        const signed = await deps.signer.presignUploadPart({
          bucket: upload.bucket,
          key: upload.key,
          storageUploadId: plan.storageUploadId,
          partNumber,
          contentLength: partSizeOf(plan, upload.size, partNumber),
          expiresInSeconds,
          signingDate,
        });
        return { partNumber, url: signed.url, headers: signed.headers };
      }),
    ),
    expiresAt: new Date(signedAt + expiresInSeconds * 1000).toISOString(),
  };
}
