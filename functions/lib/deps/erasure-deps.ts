/** What `erase-user` and `erase-org` need, built from this container's dependencies (one definition for both). */
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import type { EraseDeps } from "@fitkit/core/erasure/erase";
import type { Context } from "aws-lambda";
import { lazy } from "../lazy.js";
import { coreLog } from "../logger.js";
import { readBucket, readBuckets, readLinked } from "../resources.js";
import { erasures } from "./erasures.js";
import { linkedObjects } from "./linked-objects.js";
import { mediaVariants } from "./media-variants.js";
import { edgeCache, publicBucket, publishedMedia } from "./publishing.js";
import { dependencyTimeout, uploadSettings } from "./settings.js";
import { stagingStore } from "./staging-store.js";
import { objectStore } from "./storage.js";

/** The records bucket, listed with the read-only token (erase-org only: it reports what the lock keeps). */
const recordsReader = lazy(() => new S3ObjectStore(createS3Client(readLinked("R2Reader", "R2"), dependencyTimeout())));

export async function eraseDeps(context: Pick<Context, "getRemainingTimeInMillis">, scope: "user" | "org"): Promise<EraseDeps> {
  return {
    erasures: await erasures(),
    store: await stagingStore(),
    links: await linkedObjects(),
    variants: await mediaVariants(),
    objects: objectStore(),
    buckets: readBuckets(),
    unpublishing: { published: await publishedMedia(), public: publicBucket(), edgeCache: edgeCache() },
    ...(scope === "org" ? { recordsBucket: readBucket("RecordsBucket"), recordsObjects: recordsReader() } : {}),
    recordsRetentionSeconds: uploadSettings().recordsRetentionSeconds,
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
    log: coreLog,
  };
}
