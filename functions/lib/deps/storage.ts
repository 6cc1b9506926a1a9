/** The S3 client and object store for this container (write credentials, `Resource.R2Writer`), every call bounded by `dependencyTimeoutMs`. */
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { lazy } from "../lazy.js";
import { readLinked } from "../resources.js";
import { dependencyTimeout } from "./settings.js";

export const s3Client = lazy(() => createS3Client(readLinked("R2Writer", "R2"), dependencyTimeout()));
export const objectStore = lazy(() => new S3ObjectStore(s3Client()));
