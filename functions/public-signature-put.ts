/** PUT /public/signatures/{token} — token-gated signature upload; no Clerk session (and no Clerk link). */
import { publicSignatureUpload } from "@fitkit/core/signatures/public-signature-upload";
import { SUCCESS_STATUS } from "../stacks/functions.js";
import { scanner } from "./lib/deps/scanner.js";
import { uploadSettings } from "./lib/deps/settings.js";
import { signatureTokens } from "./lib/deps/signature-tokens.js";
import { stagingStore } from "./lib/deps/staging-store.js";
import { objectStore } from "./lib/deps/storage.js";
import { bodyBytes, header, publicRoute } from "./lib/http.js";
import { coreLog } from "./lib/logger.js";
import { readBucket } from "./lib/resources.js";

export const handler = publicRoute(async (event) => ({
  status: SUCCESS_STATUS["public-signature-put"],
  body: await publicSignatureUpload(
    {
      store: await stagingStore(),
      tokens: await signatureTokens(),
      objects: objectStore(),
      scanner: scanner(),
      settings: uploadSettings(),
      complianceBucket: readBucket("ComplianceBucket"),
      log: coreLog,
    },
    {
      token: event.pathParameters?.token ?? "",
      contentType: header(event, "content-type"),
      body: bodyBytes(event),
      clientIp: event.requestContext.http.sourceIp,
    },
  ),
}));
