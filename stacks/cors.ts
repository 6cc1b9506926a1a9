/**
 * The bucket CORS rule — one source of truth. `stacks/storage.ts` declares it on the R2 buckets;
 * the local stack applies the same rule to its embedded S3 server, so the browser test proves the
 * production rule set. Plain data: importable without SST's globals.
 */
import { SIGNED_PUT_HEADERS } from "@fitkit/core/adapters/s3/signed-put-headers";

export interface BucketCorsRule {
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds: number;
}

export function uploadCorsRule(appOrigins: readonly string[]): BucketCorsRule {
  return {
    allowedOrigins: [...appOrigins],
    allowedMethods: ["PUT", "GET", "HEAD"],
    // A browser must be allowed to send every header a presigned PUT signs (core's signers).
    allowedHeaders: [...SIGNED_PUT_HEADERS],
    // A response header, not a signed one: multipart uploads read each part's ETag.
    exposeHeaders: ["ETag"],
    maxAgeSeconds: 3600,
  };
}

/** The public bucket's rule: anyone may GET/HEAD a published rendition (a page on any site may show it); nothing else. */
export function publicReadCorsRule(): BucketCorsRule {
  return { allowedOrigins: ["*"], allowedMethods: ["GET", "HEAD"], allowedHeaders: [], exposeHeaders: [], maxAgeSeconds: 86_400 };
}
