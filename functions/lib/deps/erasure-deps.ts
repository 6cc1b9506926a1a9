/** What `erase-user` and `erase-org` need, built from this container's dependencies (one definition for both). */
import type { EraseDeps } from "@fitkit/core/erasure/erase";
import type { Context } from "aws-lambda";
import { coreLog } from "../logger.js";
import { readBuckets } from "../resources.js";
import { erasures } from "./erasures.js";
import { linkedObjects } from "./linked-objects.js";
import { mediaVariants } from "./media-variants.js";
import { publicBucket, publishedMedia } from "./publishing.js";
import { uploadSettings } from "./settings.js";
import { stagingStore } from "./staging-store.js";
import { objectStore } from "./storage.js";

export async function eraseDeps(context: Pick<Context, "getRemainingTimeInMillis">): Promise<EraseDeps> {
  return {
    erasures: await erasures(),
    store: await stagingStore(),
    links: await linkedObjects(),
    variants: await mediaVariants(),
    objects: objectStore(),
    buckets: readBuckets(),
    unpublishing: { published: await publishedMedia(), public: publicBucket() },
    recordsRetentionSeconds: uploadSettings().recordsRetentionSeconds,
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
    log: coreLog,
  };
}
