/**
 * The object store for this container: one S3 client per bucket, each with that bucket's own
 * bucket-scoped write token (`Resource.R2MediaWriter`, `Resource.R2ComplianceWriter`), built on
 * first use of the bucket — a function never needs, or gets, the token of a bucket it does not use.
 * Every call is bounded by `dependencyTimeoutMs`.
 */
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { lazy } from "../lazy.js";
import { readWriterFor } from "../resources.js";
import { PerBucketObjectStore } from "./per-bucket-object-store.js";
import { dependencyTimeout } from "./settings.js";

export const objectStore = lazy(() => new PerBucketObjectStore((bucket) => new S3ObjectStore(createS3Client(readWriterFor(bucket), dependencyTimeout()))));
