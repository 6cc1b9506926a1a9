/** GET /uploads/{uploadId}/parts — the parts storage holds so far (ListParts), for resuming. */
import * as z from "zod";
import type { Identity } from "../auth/identity.js";
import { NotFoundError } from "../errors.js";
import type { StagingStore } from "../staging/staging-store.js";
import type { ObjectStore } from "../storage/object-store.js";
import { loadOwnStagedUpload } from "./own-upload.js";

/** No body: the upload id is in the path. */
export const listPartsRequestSchema = z.object({});

export const listPartsResponseSchema = z.object({
  parts: z.array(z.object({ partNumber: z.number().int(), size: z.number().int(), etag: z.string() })),
});
export type ListPartsResponse = z.output<typeof listPartsResponseSchema>;

export interface ListPartsDeps {
  store: Pick<StagingStore, "loadForConsume">;
  objects: Pick<ObjectStore, "listParts">;
}

/** Invariant: answers only the uploader of a staged multipart upload; reads, changes nothing. */
export async function listUploadedParts(deps: ListPartsDeps, identity: Identity, uploadId: string): Promise<ListPartsResponse> {
  const upload = await loadOwnStagedUpload(deps.store, identity, uploadId);
  if (!upload.multipart) throw new NotFoundError("This upload is a single PUT, not a multipart upload.");
  const parts = await deps.objects.listParts(upload.bucket, upload.key, upload.multipart.storageUploadId);
  // Completed meanwhile (or aborted): nothing is left to send.
  return { parts: parts ?? [] };
}
