/**
 * DELETE /uploads/{uploadId} — the uploader gives up a staged upload before consume: its storage
 * is cleaned (object deleted, or multipart upload aborted) and its reservation given back at once.
 */
import * as z from "zod";
import type { Identity } from "../auth/identity.js";
import { AlreadyConsumedError, DependencyUnavailableError } from "../errors.js";
import { loadOwnStagedUpload } from "../multipart/own-upload.js";
import type { ObjectStore } from "../storage/object-store.js";
import type { StagingStore } from "./staging-store.js";

/** No body: the upload id is in the path. */
export const cancelUploadRequestSchema = z.object({});

export interface CancelUploadDeps {
  store: Pick<StagingStore, "loadForConsume" | "discardStaged">;
  objects: Pick<ObjectStore, "deleteObjects" | "abortMultipart">;
}

/**
 * Invariant: only the uploader cancels, and only a staged upload (a consumed one is ALREADY_CONSUMED).
 * The record and reservation go first, in one atomic step that skips an upload consumed meanwhile —
 * so consume can no longer link it — and puts its key on the sweeper's URL watch until its deadline
 * (its URLs still work until then); then storage is cleaned now. Should that fail, or bytes land
 * through the URL later, the watch aborts and deletes at the deadline; none is ever counted.
 */
export async function cancelUpload(deps: CancelUploadDeps, identity: Identity, uploadId: string): Promise<void> {
  const upload = await loadOwnStagedUpload(deps.store, identity, uploadId);
  const { releasedBytes } = await deps.store.discardStaged([uploadId], upload.orgId);
  // Every upload has at least one byte: none given back means it was consumed (or swept) meanwhile.
  if (releasedBytes === 0) throw new AlreadyConsumedError("This upload is no longer staged.");
  if (upload.multipart) {
    await deps.objects.abortMultipart(upload.bucket, upload.key, upload.multipart.storageUploadId);
  }
  // A completed multipart upload, or a single PUT, left an object.
  const outcome = await deps.objects.deleteObjects(upload.bucket, [upload.key]);
  if (outcome.failed.length > 0) throw new DependencyUnavailableError("storage");
}
