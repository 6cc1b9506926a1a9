/** POST /uploads/signed-urls — presigned GET URLs for keys the caller may read. */
import { signedUrls } from "@fitkit/core/downloads/signed-urls";
import { z } from "zod";
import { readerSigner } from "./lib/deps/signer.js";
import { stagingStore } from "./lib/deps/staging-store.js";
import { authenticatedJsonRoute } from "./lib/http.js";
import { logger } from "./lib/logger.js";
import { readBuckets } from "./lib/resources.js";

const signedUrlsRequestSchema = z.object({
  keys: z.array(z.string().min(1).max(1024)).min(1).max(100),
  expiresIn: z.number().int().min(60).max(604_800).default(3600),
});

export const handler = authenticatedJsonRoute(signedUrlsRequestSchema, async (identity, body) => ({
  status: 200,
  body: await signedUrls(
    {
      store: await stagingStore(),
      signer: readerSigner(),
      buckets: readBuckets(),
      onCacheError: (error) => logger.warn("signed-URL cache unavailable; signing without it", { error: error as Error }),
    },
    identity,
    body,
  ),
}));
