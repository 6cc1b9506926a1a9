/**
 * The bucket CORS rule — one source of truth. `stacks/storage.ts` declares it on the R2 buckets;
 * the local stack applies the same rule to its embedded S3 server, so the browser test proves the
 * production rule set. Plain data: importable without SST's globals.
 */

/** The headers a presigned PUT signs (core's signer), so a browser must be allowed to send them. */
export const SIGNED_UPLOAD_HEADERS = ["content-type", "content-length", "if-none-match", "x-amz-checksum-sha256"] as const;

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
    allowedHeaders: [...SIGNED_UPLOAD_HEADERS],
    exposeHeaders: ["ETag"],
    maxAgeSeconds: 3600,
  };
}
