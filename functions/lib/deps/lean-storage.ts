/**
 * The object store for consume, on the request path: HEAD, the ranged GET, CopyObject and
 * DeleteObjects over signed HTTP (`S3HttpObjectStore`) instead of the SDK's S3 client, which would
 * be most of consume's cold start. Like `objectStore()` (storage.ts), each bucket is reached with
 * its own bucket-scoped write token, built on first use, and every call is bounded by
 * `dependencyTimeoutMs`; the object store contract runs against both.
 */
import { S3HttpObjectStore } from "@fitkit/core/adapters/s3/s3-http-object-store";
import { lazy } from "../lazy.js";
import { readWriterFor } from "../resources.js";
import { dependencyTimeout } from "./settings.js";

export const leanObjectStore = lazy(() => new S3HttpObjectStore({ settingsFor: readWriterFor, ...dependencyTimeout() }));
