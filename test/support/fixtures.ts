import { randomBytes } from "node:crypto";
import type { NewUpload } from "@fitkit/core/uploads/upload";

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
