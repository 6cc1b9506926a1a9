/** POST /uploads — presign one or more uploads (the first stage). */
import { presign, presignRequestSchema } from "@fitkit/core/staging/presign";
import { SUCCESS_STATUS } from "../stacks/functions.js";
import { multipartStorage } from "./lib/deps/multipart-storage.js";
import { uploadSettings } from "./lib/deps/settings.js";
import { mediaWriterSigner } from "./lib/deps/signer.js";
import { stagingStore } from "./lib/deps/staging-store.js";
import { authenticatedJsonRoute } from "./lib/http.js";
import { readBucket } from "./lib/resources.js";

export const handler = authenticatedJsonRoute(presignRequestSchema, async (identity, body) => ({
  status: SUCCESS_STATUS.presign,
  body: await presign(
    {
      store: await stagingStore(),
      signer: mediaWriterSigner(),
      objects: multipartStorage(),
      settings: uploadSettings(),
      mediaBucket: readBucket("MediaBucket"),
    },
    identity,
    body,
  ),
}));
