/** POST /uploads/{uploadId}/complete — assemble a multipart upload's parts into its object. */
import { completeMultipart, completeMultipartRequestSchema } from "@fitkit/core/multipart/complete";
import { uploadIdParamSchema } from "@fitkit/core/multipart/own-upload";
import { SUCCESS_STATUS } from "../stacks/functions.js";
import { stagingStore } from "./lib/deps/staging-store.js";
import { objectStore } from "./lib/deps/storage.js";
import { authenticatedJsonRoute, pathParameter } from "./lib/http.js";

export const handler = authenticatedJsonRoute(completeMultipartRequestSchema, async (identity, _body, event) => ({
  status: SUCCESS_STATUS["complete-upload"],
  body: await completeMultipart({ store: await stagingStore(), objects: objectStore() }, identity, uploadIdParamSchema.parse(pathParameter(event, "uploadId"))),
}));
