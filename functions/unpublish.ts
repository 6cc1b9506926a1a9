/** Internal `unpublish` — deletes a published upload's public renditions and gives their bytes back. */
import { unpublish, unpublishRequestSchema } from "@fitkit/core/publishing/unpublish";
import { edgeCache, publicBucket, publishedMedia } from "./lib/deps/publishing.js";
import { internalOperation } from "./lib/internal.js";

export const handler = internalOperation(unpublishRequestSchema, async (request) =>
  unpublish({ published: await publishedMedia(), public: publicBucket(), edgeCache: edgeCache() }, request),
);
