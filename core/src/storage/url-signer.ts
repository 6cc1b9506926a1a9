/**
 * The signing port: turns (bucket, key, pinned headers) into a presigned S3/R2 URL.
 * Pure CPU work — implementations must not perform network I/O.
 */
export interface PresignPutInput {
  bucket: string;
  key: string;
  /** Exact MIME type; signed, so storage rejects another `content-type`. */
  contentType: string;
  /** Exact byte count; signed, so storage rejects a body of another length. */
  contentLength: number;
  /** Base64 SHA-256 of the body; when given it is signed as `x-amz-checksum-sha256`. */
  checksumSha256?: string;
  /** When true, `if-none-match: *` is signed so a second PUT to the key is refused. */
  ifNoneMatch?: boolean;
  expiresInSeconds: number;
  /** Defaults to now. */
  signingDate?: Date;
}

export interface PresignGetInput {
  bucket: string;
  key: string;
  expiresInSeconds: number;
  /** Becomes the `response-content-type` query parameter (signed). */
  responseContentType?: string;
  /** Becomes the `response-content-disposition` query parameter (signed). */
  responseContentDisposition?: string;
  /** Becomes the `response-cache-control` query parameter (signed). */
  responseCacheControl?: string;
  /** Becomes the `response-content-encoding` query parameter (signed). */
  responseContentEncoding?: string;
  /** Becomes the `response-content-language` query parameter (signed). */
  responseContentLanguage?: string;
  signingDate?: Date;
}

export interface PresignUploadPartInput {
  bucket: string;
  key: string;
  /** Storage's multipart upload id (CreateMultipartUpload). */
  storageUploadId: string;
  /** 1..MAX_PARTS (the catalog's). */
  partNumber: number;
  /** Exact byte count of this part; signed, so storage rejects a part of another length. */
  contentLength: number;
  expiresInSeconds: number;
  signingDate?: Date;
}

export interface PresignedPut {
  url: string;
  /** Headers the client must send exactly (lower-case names). */
  headers: Record<string, string>;
}

export interface UrlSigner {
  presignPut(input: PresignPutInput): Promise<PresignedPut>;
  presignGet(input: PresignGetInput): Promise<string>;
  /** An UploadPart URL (PUT) that signs the part's exact `content-length`. */
  presignUploadPart(input: PresignUploadPartInput): Promise<PresignedPut>;
}

/** Connection settings shared by every S3/R2 adapter. */
export interface S3ConnectionSettings {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}
