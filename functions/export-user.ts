/** Internal `export-user` — a page of one member's uploads with signed URLs of their best copies (never an image's uploaded bytes). */
import { createUrlMemo } from "@fitkit/core/downloads/signed-urls";
import { exportUser, exportUserRequestSchema } from "@fitkit/core/erasure/export-user";
import { linkedObjects } from "./lib/deps/linked-objects.js";
import { mediaVariants } from "./lib/deps/media-variants.js";
import { mediaReader } from "./lib/deps/publishing.js";
import { readerSigner } from "./lib/deps/signer.js";
import { internalOperation } from "./lib/internal.js";
import { readBuckets } from "./lib/resources.js";

const memo = createUrlMemo();

export const handler = internalOperation(exportUserRequestSchema, async (request) =>
  exportUser(
    {
      // Listing needs no write token: the read-only one lists and signs.
      objects: mediaReader(),
      links: await linkedObjects(),
      signing: { signer: readerSigner(), buckets: readBuckets(), variants: await mediaVariants(), memo },
    },
    request,
  ),
);
