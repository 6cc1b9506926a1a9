/** Loading an upload for its uploader: the routes under `/uploads/{uploadId}` answer only them. */
import * as z from "zod";
import type { Identity } from "../auth/identity.js";
import { AlreadyConsumedError, ExpiredError, NotFoundError } from "../errors.js";
import type { StagingStore } from "../staging/staging-store.js";
import type { StagedUpload } from "../uploads/upload.js";

/** An upload id as the server makes them (`newUploadId`): 32 lower-case hex digits. */
export const uploadIdParamSchema = z.string().regex(/^[0-9a-f]{32}$/, "must be an upload id (32 hex digits)");

/**
 * The upload, if `identity` uploaded it (same org and user) and it is still staged before its
 * deadline. Anything else is NOT_FOUND (another user's upload is not revealed), ALREADY_CONSUMED
 * or EXPIRED.
 */
export async function loadOwnStagedUpload(store: Pick<StagingStore, "loadForConsume">, identity: Identity, uploadId: string): Promise<StagedUpload> {
  // No replay is looked up here: the key only fills the snapshot's slot.
  const snapshot = await store.loadForConsume([uploadId], "none");
  const upload = snapshot.uploads[0];
  if (!upload || !identity.orgId || upload.orgId !== identity.orgId || upload.userId !== identity.userId) {
    throw new NotFoundError("No such upload.");
  }
  if (upload.status === "consumed") throw new AlreadyConsumedError("This upload was already consumed.");
  if (upload.status !== "staged" || snapshot.now >= upload.deadline) throw new ExpiredError("This upload has expired.");
  return upload;
}
