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

/**
 * The API's CORS rule: which app origins may call the API from a browser, and what such a script
 * may send and read. `stacks/api.ts` gives it to API Gateway; the local stack answers it itself
 * (local/server.ts) for `APP_ORIGINS`, so an app on another port behaves as it will when deployed.
 */
export interface ApiCorsRule {
  allowOrigins: string[];
  allowMethods: ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD")[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds: number;
}

export function apiCorsRule(appOrigins: readonly string[]): ApiCorsRule {
  return {
    allowOrigins: [...appOrigins],
    // DELETE: a browser cancels its own upload (DELETE /uploads/{uploadId}).
    allowMethods: ["GET", "POST", "PUT", "DELETE"],
    allowHeaders: ["authorization", "content-type"],
    // Not CORS-safelisted, so hidden from a cross-origin script unless exposed: the client reads
    // `date` to correct its clock skew and `retry-after` to back off on 429/503.
    exposeHeaders: ["date", "retry-after"],
    maxAgeSeconds: 3600,
  };
}

/** The public bucket's rule: anyone may GET/HEAD a published rendition (a page on any site may show it); nothing else. */
export function publicReadCorsRule(): BucketCorsRule {
  return { allowedOrigins: ["*"], allowedMethods: ["GET", "HEAD"], allowedHeaders: [], exposeHeaders: [], maxAgeSeconds: 86_400 };
}
