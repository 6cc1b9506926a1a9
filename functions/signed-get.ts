/** POST /uploads/signed-urls — presigned GET URLs for keys the caller may read. Signs only: no S3 client, no Redis. */
import { createUrlMemo, signedUrls } from "@fitkit/core/downloads/signed-urls";
import * as z from "zod";
import { readerSigner } from "./lib/deps/signer.js";
import { authenticatedJsonRoute } from "./lib/http.js";
import { readBuckets } from "./lib/resources.js";

const signedUrlsRequestSchema = z.object({
  keys: z.array(z.string().min(1).max(1024)).min(1).max(100),
  expiresIn: z.number().int().min(60).max(604_800).default(3600),
});

const memo = createUrlMemo();

export const handler = authenticatedJsonRoute(signedUrlsRequestSchema, async (identity, body) => ({
  status: 200,
  body: await signedUrls({ signer: readerSigner(), buckets: readBuckets(), memo }, identity, body),
}));
