import { createHash, randomBytes } from "node:crypto";
import type { NewUpload } from "@fitkit/core/uploads/upload";

/** SHA-256 of `bytes`, base64: the `checksumSha256` a PUT to storage declares. */
export const sha256Base64 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("base64");

export const uniqueId = (prefix: string): string => `${prefix}_${randomBytes(6).toString("hex")}`;

export function newUpload(overrides: Partial<NewUpload> = {}): NewUpload {
  const uploadId = overrides.uploadId ?? randomBytes(16).toString("hex");
  const orgId = overrides.orgId ?? "org_test";
  const userId = overrides.userId === undefined ? "user_test" : overrides.userId;
  return {
    uploadId,
    ownerType: "progress_photo",
    orgId,
    userId,
    bucket: "media",
    key: `${orgId}/progress_photo/${userId}/${uploadId}.jpg`,
    contentType: "image/jpeg",
    size: 1000,
    ...overrides,
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
