/**
 * The object store's multipart calls, for a handler that begins multipart uploads only for some
 * requests (presign: large files). The S3 client and its SDK are imported on the first such call,
 * not at cold start, so the common request (a single PUT URL, signed without the SDK) never pays to
 * load them; the first multipart request does, once per container. The store behind it is
 * `objectStore()`, so its per-bucket tokens and timeouts are the same.
 */
import type { ObjectStore } from "@fitkit/core/storage/object-store";
import { lazy } from "../lazy.js";

const storage = lazy(async () => (await import("./storage.js")).objectStore());

export const multipartStorage = lazy(
  (): Pick<ObjectStore, "createMultipart" | "abortMultipart"> => ({
    createMultipart: async (bucket, key, contentType) => (await storage()).createMultipart(bucket, key, contentType),
    abortMultipart: async (bucket, key, storageUploadId) => (await storage()).abortMultipart(bucket, key, storageUploadId),
  }),
);
