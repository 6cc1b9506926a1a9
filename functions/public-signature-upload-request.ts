/** POST /public/signatures/{token}/uploads — a presigned PUT for a large signature; no Clerk session (and no Clerk link). */
import { requestSignatureUpload, requestSignatureUploadSchema } from "@fitkit/core/signatures/direct-signature-upload";
import { SUCCESS_STATUS } from "../stacks/functions.js";
import { uploadSettings } from "./lib/deps/settings.js";
import { signatureTokens } from "./lib/deps/signature-tokens.js";
import { signerForBucket } from "./lib/deps/signer.js";
import { stagingStore } from "./lib/deps/staging-store.js";
import { objectStore } from "./lib/deps/storage.js";
import { publicJsonRoute } from "./lib/http.js";
import { coreLog } from "./lib/logger.js";
import { readBucket } from "./lib/resources.js";

export const handler = publicJsonRoute(requestSignatureUploadSchema, async (event, body) => ({
  status: SUCCESS_STATUS["public-signature-upload-request"],
  body: await requestSignatureUpload(
    {
      store: await stagingStore(),
      tokens: await signatureTokens(),
      objects: objectStore(),
      signer: signerForBucket(readBucket("ComplianceBucket")),
      settings: uploadSettings(),
      complianceBucket: readBucket("ComplianceBucket"),
      log: coreLog,
    },
    { token: event.pathParameters?.token ?? "", clientIp: event.requestContext.http.sourceIp },
    body,
  ),
}));
