/** POST /public/signatures/{token}/complete — check a directly uploaded signature and burn the token; no Clerk session. */
import { completeSignatureUpload, completeSignatureUploadSchema } from "@fitkit/core/signatures/direct-signature-upload";
import { SUCCESS_STATUS } from "../stacks/functions.js";
import { scanner } from "./lib/deps/scanner.js";
import { uploadSettings } from "./lib/deps/settings.js";
import { signatureTokens } from "./lib/deps/signature-tokens.js";
import { stagingStore } from "./lib/deps/staging-store.js";
import { objectStore } from "./lib/deps/storage.js";
import { publicJsonRoute } from "./lib/http.js";
import { coreLog } from "./lib/logger.js";
import { readBucket } from "./lib/resources.js";

export const handler = publicJsonRoute(completeSignatureUploadSchema, async (event, body) => ({
  status: SUCCESS_STATUS["public-signature-complete"],
  body: await completeSignatureUpload(
    {
      store: await stagingStore(),
      tokens: await signatureTokens(),
      objects: objectStore(),
      scanner: scanner(),
      settings: uploadSettings(),
      complianceBucket: readBucket("ComplianceBucket"),
      log: coreLog,
    },
    { token: event.pathParameters?.token ?? "", clientIp: event.requestContext.http.sourceIp },
    body,
  ),
}));
