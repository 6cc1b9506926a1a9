/**
 * POST /uploads/signed-urls — presigned GET URLs for keys the caller may read. No S3 client; one
 * batched Redis read when images are asked for (their processing state and variant keys).
 */
import { createUrlMemo, signedUrls, signedUrlsRequestSchema } from "@fitkit/core/signed-urls/signed-urls";
import { SUCCESS_STATUS } from "../stacks/functions.js";
import { mediaVariants } from "./lib/deps/media-variants.js";
import { readerSigner } from "./lib/deps/signer.js";
import { authenticatedJsonRoute } from "./lib/http.js";
import { readBucketsWithRecords } from "./lib/resources.js";

const memo = createUrlMemo();

export const handler = authenticatedJsonRoute(signedUrlsRequestSchema, async (identity, body) => ({
  status: SUCCESS_STATUS["signed-urls"],
  body: await signedUrls({ signer: readerSigner(), buckets: readBucketsWithRecords(), variants: await mediaVariants(), memo }, identity, body),
}));
