/**
 * One place that builds the S3 client for R2. `WHEN_REQUIRED` checksums matter: with the SDK's
 * default, presigned PUT URLs carry the CRC32 of an empty body, which R2 rejects.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { DEFAULT_DEPENDENCY_TIMEOUT_MS } from "../../config.js";
import type { S3ConnectionSettings } from "../../storage/url-signer.js";
import { S3_MAX_ATTEMPTS } from "./s3-retries.js";

export interface S3ClientOptions {
  /**
   * Bounds every wait of one attempt: connecting, the response's headers, and any idle gap in a
   * body. The request timeout only throws with `throwOnRequestTimeout` (otherwise the SDK logs a
   * warning and keeps waiting). Two attempts, so a stalled bucket fails in about 2 × this.
   */
  timeoutMs: number;
}

export { S3_MAX_ATTEMPTS };

export function createS3Client(settings: S3ConnectionSettings, options: S3ClientOptions = { timeoutMs: DEFAULT_DEPENDENCY_TIMEOUT_MS }): S3Client {
  return new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: S3_MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: options.timeoutMs,
      requestTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      throwOnRequestTimeout: true,
    },
  });
}
