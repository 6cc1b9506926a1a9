/**
 * The reference `UrlSigner`: the AWS SDK's own presigner (`getSignedUrl`). Correct by
 * construction but costly (~0.4 ms per URL); `FastUrlSigner` must produce byte-identical URLs.
 *
 * Settings that matter on R2:
 * - `requestChecksumCalculation: 'WHEN_REQUIRED'`, or every presigned PUT carries
 *   `x-amz-checksum-crc32` of an EMPTY body plus `x-amz-sdk-checksum-algorithm` in its query,
 *   which R2 rejects once the real body arrives.
 * - `responseChecksumValidation: 'WHEN_REQUIRED'`, or presigned GETs carry `x-amz-checksum-mode`.
 * - `content-type` is signed only if listed in `signableHeaders` (the presigner marks it unsignable).
 * - `x-amz-*` headers are hoisted into the query string (then the client need not send them and
 *   storage cannot hold it to them) unless listed in `unhoistableHeaders`.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client, UploadPartCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { PresignedPut, PresignGetInput, PresignPutInput, PresignUploadPartInput, S3ConnectionSettings, UrlSigner } from "../../storage/url-signer.js";
import { putHeaders, putSignedHeaderNames, validateGetInput, validatePutInput, validateUploadPartInput } from "./fast-url-signer.js";
import { createS3Client } from "./s3-client.js";

const SIGNABLE_HEADERS: ReadonlySet<string> = new Set(["content-type", "content-length"]);
const UNHOISTABLE_HEADERS: ReadonlySet<string> = new Set(["x-amz-checksum-sha256"]);
/** Query parameters that must never appear (they would pin a checksum of an empty body). */
const FORBIDDEN_QUERY = /[?&]x-amz-(?:checksum-|sdk-checksum-)/i;

export class SdkUrlSigner implements UrlSigner {
  readonly #client: S3Client;

  constructor(settings: S3ConnectionSettings) {
    this.#client = createS3Client(settings);
  }

  async presignPut(input: PresignPutInput): Promise<PresignedPut> {
    validatePutInput(input);
    const command = new PutObjectCommand({
      Bucket: input.bucket,
      Key: input.key,
      ContentType: input.contentType,
      ContentLength: input.contentLength,
      ...(input.checksumSha256 !== undefined ? { ChecksumSHA256: input.checksumSha256 } : {}),
      ...(input.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
    });
    const url = await getSignedUrl(this.#client, command, {
      expiresIn: input.expiresInSeconds,
      ...(input.signingDate !== undefined ? { signingDate: input.signingDate } : {}),
      // Fresh sets: the presigner adds to the sets it is given.
      signableHeaders: new Set(SIGNABLE_HEADERS),
      unhoistableHeaders: new Set(UNHOISTABLE_HEADERS),
    });
    // Guard against an SDK upgrade silently changing what is signed: the client sends exactly
    // `putHeaders(input)`, so exactly those (plus host) must be signed, and no checksum query.
    const signed = new URL(url).searchParams.get("X-Amz-SignedHeaders");
    if (signed !== putSignedHeaderNames(input) || FORBIDDEN_QUERY.test(url)) {
      throw new Error(`getSignedUrl signed unexpected headers/parameters: ${signed ?? "(none)"}`);
    }
    return { url, headers: putHeaders(input) };
  }

  async presignGet(input: PresignGetInput): Promise<string> {
    validateGetInput(input);
    const command = new GetObjectCommand({
      Bucket: input.bucket,
      Key: input.key,
      ...(input.responseContentType !== undefined ? { ResponseContentType: input.responseContentType } : {}),
      ...(input.responseContentDisposition !== undefined ? { ResponseContentDisposition: input.responseContentDisposition } : {}),
      ...(input.responseCacheControl !== undefined ? { ResponseCacheControl: input.responseCacheControl } : {}),
      ...(input.responseContentEncoding !== undefined ? { ResponseContentEncoding: input.responseContentEncoding } : {}),
      ...(input.responseContentLanguage !== undefined ? { ResponseContentLanguage: input.responseContentLanguage } : {}),
    });
    return getSignedUrl(this.#client, command, {
      expiresIn: input.expiresInSeconds,
      ...(input.signingDate !== undefined ? { signingDate: input.signingDate } : {}),
    });
  }

  async presignUploadPart(input: PresignUploadPartInput): Promise<PresignedPut> {
    validateUploadPartInput(input);
    const command = new UploadPartCommand({
      Bucket: input.bucket,
      Key: input.key,
      UploadId: input.storageUploadId,
      PartNumber: input.partNumber,
      ContentLength: input.contentLength,
    });
    const url = await getSignedUrl(this.#client, command, {
      expiresIn: input.expiresInSeconds,
      ...(input.signingDate !== undefined ? { signingDate: input.signingDate } : {}),
      signableHeaders: new Set(["content-length"]),
    });
    const signed = new URL(url).searchParams.get("X-Amz-SignedHeaders");
    if (signed !== "content-length;host" || FORBIDDEN_QUERY.test(url)) {
      throw new Error(`getSignedUrl signed unexpected headers/parameters: ${signed ?? "(none)"}`);
    }
    return { url, headers: { "content-length": String(input.contentLength) } };
  }
}
