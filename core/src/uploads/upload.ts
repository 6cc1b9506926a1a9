/**
 * The upload record: what presign and the public signature route stage, what consume links and
 * what the sweeper deletes. Shared by every area that handles uploads; owned by none of them.
 */
import { randomBytes } from "node:crypto";
import type { OwnerType } from "../policies/owner-types.js";

/** A new upload id: 128 random bits, hex — server-made, safe in keys. */
export const newUploadId = (): string => randomBytes(16).toString("hex");

/**
 * "abandoned": no object when its PUT URL had expired — reservation given back, consume answers
 * EXPIRED, still listed for the sweeper until its deadline. "swept": its object was deleted; the
 * record stays a while so a late consume is told EXPIRED.
 */
export type UploadStatus = "staged" | "abandoned" | "claimed" | "consumed" | "swept";

export interface MultipartPlan {
  storageUploadId: string;
  partSize: number;
  partCount: number;
}

/** What is staged for each upload. */
export interface NewUpload {
  uploadId: string;
  ownerType: OwnerType;
  orgId: string;
  /** The uploading user; null for uploads owned by the organisation (form signatures). */
  userId: string | null;
  bucket: string;
  key: string;
  contentType: string;
  size: number;
  sha256?: string;
  fileName?: string;
  /**
   * A multipart upload (large video): storage's upload id (CreateMultipartUpload, made at presign)
   * and the part plan — every part `partSize` bytes but the last. Absent for a single PUT.
   */
  multipart?: MultipartPlan;
  /** Free-form, server-made metadata (e.g. form and submission of a signature). */
  meta?: Record<string, string>;
}

export interface StagedUpload extends NewUpload {
  status: UploadStatus;
  /** Store time (ms) after which the upload can no longer be consumed and is swept. */
  deadline: number;
  createdAt: number;
  /** Store time (ms) its reservation was given back early (no object after the URL expired). */
  abandonedAt?: number;
}

/**
 * The user metadata (`x-amz-meta-*`) the server itself stores with an upload's object, when it
 * writes the bytes (the public signature route). Storage serves metadata to every reader, so
 * consume accepts an object only if each of its metadata entries is one of these, with this value.
 */
export function serverMetadataFor(upload: NewUpload): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (upload.sha256) metadata.sha256 = upload.sha256;
  if (upload.meta?.formId) metadata["form-id"] = upload.meta.formId;
  if (upload.meta?.submissionId) metadata["submission-id"] = upload.meta.submissionId;
  return metadata;
}
