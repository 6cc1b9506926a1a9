/**
 * POST /uploads/{uploadId}/complete — assembles a multipart upload's parts into its object
 * (CompleteMultipartUpload) once every planned part is in storage with its planned size.
 */
import * as z from "zod";
import type { Identity } from "../auth/identity.js";
import { ContentMismatchError, NotFoundError, NotUploadedError } from "../errors.js";
import { announcedMediaKey } from "../policies/object-keys.js";
import type { StagingStore } from "../staging/staging-store.js";
import type { ObjectStore } from "../storage/object-store.js";
import { loadOwnStagedUpload } from "./own-upload.js";
import { partSizeOf } from "./part-plan.js";

/** No body: the upload id is in the path. */
export const completeMultipartRequestSchema = z.object({});

export const completeMultipartResponseSchema = z.object({
  uploadId: z.string(),
  key: z.string(),
  size: z.number().int(),
});
export type CompleteMultipartResponse = z.output<typeof completeMultipartResponseSchema>;

export interface CompleteMultipartDeps {
  store: Pick<StagingStore, "loadForConsume">;
  objects: Pick<ObjectStore, "listParts" | "completeMultipart" | "head">;
}

/**
 * Invariant: the object is assembled only from exactly the planned parts, each of its planned size
 * (so the object is exactly the size reserved at presign); a part missing or of another size is
 * NOT_UPLOADED with the part numbers, and nothing is written. Safe to repeat and to race: when
 * storage no longer knows the upload but holds an object of the planned size, that completion
 * (ours or a concurrent one) is answered — two completes yield one object.
 */
export async function completeMultipart(deps: CompleteMultipartDeps, identity: Identity, uploadId: string): Promise<CompleteMultipartResponse> {
  const upload = await loadOwnStagedUpload(deps.store, identity, uploadId);
  const plan = upload.multipart;
  if (!plan) throw new NotFoundError("This upload is a single PUT, not a multipart upload.");
  // The key the upload will be linked under, as presign announced it (the parts went to its staged key).
  const done = { uploadId, key: announcedMediaKey(upload.key), size: upload.size };
  const alreadyComplete = async () => (await deps.objects.head(upload.bucket, upload.key))?.size === upload.size;

  const stored = await deps.objects.listParts(upload.bucket, upload.key, plan.storageUploadId);
  if (!stored) {
    if (await alreadyComplete()) return done;
    throw new NotUploadedError("This multipart upload no longer exists in storage.");
  }
  const byNumber = new Map(stored.map((part) => [part.partNumber, part]));
  const missing: number[] = [];
  const wrongSize: number[] = [];
  for (let partNumber = 1; partNumber <= plan.partCount; partNumber++) {
    const part = byNumber.get(partNumber);
    if (!part) missing.push(partNumber);
    else if (part.size !== partSizeOf(plan, upload.size, partNumber)) wrongSize.push(partNumber);
  }
  if (wrongSize.length > 0) {
    throw new ContentMismatchError("Some parts differ in size from the plan; send them again.", [{ partNumbers: wrongSize }]);
  }
  if (missing.length > 0) throw new NotUploadedError("Some parts have not been uploaded yet.", [{ missingPartNumbers: missing }]);

  const parts = Array.from({ length: plan.partCount }, (_, i) => ({ partNumber: i + 1, etag: byNumber.get(i + 1)!.etag }));
  const outcome = await deps.objects.completeMultipart(upload.bucket, upload.key, plan.storageUploadId, parts);
  if (outcome.ok || (outcome.reason === "no_such_upload" && (await alreadyComplete()))) return done;
  // A part replaced between the listing and the completion (a retry of it): the client asks again.
  throw new NotUploadedError("The parts changed while completing; try again.");
}
