/** Internal `release` — the parent was deleted: unpublish, delete its objects and give their bytes back. */
import { release, releaseRequestSchema } from "@fitkit/core/quotas/release";
import { linkedObjects } from "./lib/deps/linked-objects.js";
import { edgeCache, publicBucket, publishedMedia } from "./lib/deps/publishing.js";
import { objectStore } from "./lib/deps/storage.js";
import { internalOperation } from "./lib/internal.js";
import { readBuckets } from "./lib/resources.js";

export const handler = internalOperation(releaseRequestSchema, async (request) =>
  release(
    {
      links: await linkedObjects(),
      objects: objectStore(),
      buckets: readBuckets(),
      unpublishing: { published: await publishedMedia(), public: publicBucket(), edgeCache: edgeCache() },
    },
    request,
  ),
);
