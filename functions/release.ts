/** Internal `release` — the parent was deleted: delete its objects and give their bytes back. */
import { release, releaseRequestSchema } from "@fitkit/core/quotas/release";
import { stagingStore } from "./lib/deps/staging-store.js";
import { objectStore } from "./lib/deps/storage.js";
import { internalOperation } from "./lib/internal.js";
import { readBuckets } from "./lib/resources.js";

export const handler = internalOperation(releaseRequestSchema, async (request) =>
  release({ store: await stagingStore(), objects: objectStore(), buckets: readBuckets() }, request),
);
