/** GET /uploads/{uploadId}/parts — the parts of a multipart upload storage already holds (resume). */
import { listUploadedParts } from "@fitkit/core/multipart/list-parts";
import { uploadIdParamSchema } from "@fitkit/core/multipart/own-upload";
import { SUCCESS_STATUS } from "../stacks/functions.js";
import { stagingStore } from "./lib/deps/staging-store.js";
import { objectStore } from "./lib/deps/storage.js";
import { authenticatedRoute, pathParameter } from "./lib/http.js";

export const handler = authenticatedRoute(async (identity, event) => ({
  status: SUCCESS_STATUS["list-upload-parts"],
  body: await listUploadedParts({ store: await stagingStore(), objects: objectStore() }, identity, uploadIdParamSchema.parse(pathParameter(event, "uploadId"))),
}));
