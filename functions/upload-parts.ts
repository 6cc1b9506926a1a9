/** POST /uploads/{uploadId}/parts — presigned UploadPart URLs for parts of a multipart upload. */
import { uploadIdParamSchema } from "@fitkit/core/multipart/own-upload";
import { signParts, signPartsRequestSchema } from "@fitkit/core/multipart/sign-parts";
import { SUCCESS_STATUS } from "../stacks/functions.js";
import { uploadSettings } from "./lib/deps/settings.js";
import { mediaWriterSigner } from "./lib/deps/signer.js";
import { stagingStore } from "./lib/deps/staging-store.js";
import { authenticatedJsonRoute, pathParameter } from "./lib/http.js";

export const handler = authenticatedJsonRoute(signPartsRequestSchema, async (identity, body, event) => ({
  status: SUCCESS_STATUS["upload-parts"],
  body: await signParts(
    { store: await stagingStore(), signer: mediaWriterSigner(), settings: uploadSettings() },
    identity,
    uploadIdParamSchema.parse(pathParameter(event, "uploadId")),
    body,
  ),
}));
