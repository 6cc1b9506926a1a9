/**
 * Publishing for this container: the public bucket through its own writer token
 * (`Resource.PublicMedia`, scoped to that bucket alone), the media bucket read with the read-only
 * token, and the published records kept by the staging store's instance (they check its links).
 */

import { CloudflareCachePurge } from "@fitkit/core/adapters/cloudflare/cloudflare-cache-purge";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { type EdgeCache, NO_EDGE_CACHE } from "@fitkit/core/publishing/edge-cache";
import type { PublicBucket } from "@fitkit/core/publishing/publish";
import type { PublishedMedia } from "@fitkit/core/publishing/published-media";
import { lazy } from "../lazy.js";
import { readLinked } from "../resources.js";
import { dependencyTimeout } from "./settings.js";
import { stagingStore } from "./staging-store.js";

export const publicBucket = lazy((): PublicBucket & { objects: S3ObjectStore } => {
  const settings = readLinked("PublicMedia", "PublicMedia");
  return { name: settings.name, baseUrl: settings.baseUrl, objects: new S3ObjectStore(createS3Client(settings, dependencyTimeout())) };
});

/**
 * The cache in front of the public bucket's domain: Cloudflare's (purge by URL, each call bounded by
 * the dependency timeout) when the link names a zone, else none (r2.dev and the local stack serve
 * from the bucket itself).
 */
export const edgeCache = lazy((): EdgeCache => {
  const { cachePurge } = readLinked("PublicMedia", "PublicMedia");
  return cachePurge ? new CloudflareCachePurge({ ...cachePurge, ...dependencyTimeout() }) : NO_EDGE_CACHE;
});

export const mediaReader = lazy(() => new S3ObjectStore(createS3Client(readLinked("R2MediaReader", "R2"), dependencyTimeout())));

export const publishedMedia = (): Promise<PublishedMedia> => stagingStore();
