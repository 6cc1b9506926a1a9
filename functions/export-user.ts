/** Internal `export-user` — a page of one member's uploads with signed URLs of their best copies (never an image's uploaded bytes). */

import { exportUser, exportUserRequestSchema } from "@fitkit/core/erasure/export-user";
import { createUrlMemo } from "@fitkit/core/signed-urls/signed-urls";
import { linkedObjects } from "./lib/deps/linked-objects.js";
import { mediaVariants } from "./lib/deps/media-variants.js";
import { mediaReader } from "./lib/deps/publishing.js";
import { mediaReaderSigner } from "./lib/deps/signer.js";
import { internalOperation } from "./lib/internal.js";
import { readBucketsWithRecords } from "./lib/resources.js";

const memo = createUrlMemo();

export const handler = internalOperation(exportUserRequestSchema, async (request) =>
  exportUser(
    {
      // Listing needs no write token: the media bucket's read-only one lists and signs (a member's
      // uploads are all in the media bucket; records are the organisation's).
      objects: mediaReader(),
      links: await linkedObjects(),
      signing: { signer: mediaReaderSigner(), buckets: readBucketsWithRecords(), variants: await mediaVariants(), memo },
    },
    request,
  ),
);
