/**
 * One place that builds the S3 client for R2. `WHEN_REQUIRED` checksums matter: with the SDK's
 * default, presigned PUT URLs carry the CRC32 of an empty body, which R2 rejects.
 */
import { S3Client } from "@aws-sdk/client-s3";
import type { S3ConnectionSettings } from "../../storage/url-signer.js";

export function createS3Client(settings: S3ConnectionSettings): S3Client {
  return new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 2000, requestTimeout: 10_000 },
  });
}
