/** DELETE /uploads/{uploadId} — the uploader cancels a staged upload (single or multipart); 204. */
import { uploadIdParamSchema } from "@fitkit/core/multipart/own-upload";
import { cancelUpload } from "@fitkit/core/staging/cancel";
import { SUCCESS_STATUS } from "../stacks/functions.js";
import { stagingStore } from "./lib/deps/staging-store.js";
import { objectStore } from "./lib/deps/storage.js";
import { authenticatedRoute, pathParameter } from "./lib/http.js";

export const handler = authenticatedRoute(async (identity, event) => {
  await cancelUpload({ store: await stagingStore(), objects: objectStore() }, identity, uploadIdParamSchema.parse(pathParameter(event, "uploadId")));
  return { status: SUCCESS_STATUS["cancel-upload"], body: null };
});
