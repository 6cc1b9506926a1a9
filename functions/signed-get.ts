/** POST /uploads/signed-urls — presigned GET URLs for keys the caller may read. Signs only: no S3 client, no Redis. */
import { createUrlMemo, signedUrls, signedUrlsRequestSchema } from "@fitkit/core/downloads/signed-urls";
import { readerSigner } from "./lib/deps/signer.js";
import { authenticatedJsonRoute } from "./lib/http.js";
import { readBuckets } from "./lib/resources.js";

const memo = createUrlMemo();

export const handler = authenticatedJsonRoute(signedUrlsRequestSchema, async (identity, body) => ({
  status: 200,
  body: await signedUrls({ signer: readerSigner(), buckets: readBuckets(), memo }, identity, body),
}));
