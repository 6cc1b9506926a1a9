/**
 * A small SigV4 query-string signer for S3/R2 presigned PUT/GET URLs, built on node:crypto only
 * (the encoding and signing key it shares with the lean API clients live in `../aws/sigv4.ts`).
 *
 * It produces byte-for-byte the URL that `getSignedUrl` from `@aws-sdk/s3-request-presigner`
 * produces with the client settings of `SdkUrlSigner` (path-style, `WHEN_REQUIRED` checksums),
 * proven by the differential test in `fast-url-signer.test.ts`, at a small fraction of the cost:
 * per URL it does one SHA-256 of the canonical request and one HMAC of the string to sign; the
 * derived signing key is cached per UTC day (region and service are fixed per instance).
 *
 * It must not import `@aws-sdk/client-s3` (signing-only handlers must not load the S3 client).
 *
 * What the SDK signs (and so what this reproduces), for a PUT:
 *
 *   PUT
 *   /<bucket>/<key, each '/'-separated segment RFC 3986-encoded>
 *   X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&X-Amz-Credential=…
 *     &X-Amz-Date=…&X-Amz-Expires=…&X-Amz-SignedHeaders=…&x-id=PutObject
 *   content-length:…            (canonical headers, sorted by name)
 *   content-type:…
 *   host:<host[:port]>
 *   if-none-match:*             (optional)
 *   x-amz-checksum-sha256:…     (optional; a header, not hoisted into the query)
 *
 *   content-length;content-type;host[;if-none-match][;x-amz-checksum-sha256]
 *   UNSIGNED-PAYLOAD
 *
 * A GET signs only `host` and adds `response-cache-control` / `response-content-disposition` /
 * `response-content-encoding` / `response-content-language` / `response-content-type` before
 * `x-id=GetObject` in the (sorted) query. The URL's query is the canonical query with
 * `X-Amz-Signature` inserted in sorted position (after `X-Amz-Expires`).
 */
import { MAX_PARTS, MAX_PRESIGN_EXPIRES_SECONDS } from "../../contract/catalog.js";
import type { PresignedPut, PresignGetInput, PresignPutInput, PresignUploadPartInput, S3ConnectionSettings, UrlSigner } from "../../storage/url-signer.js";
import { canonicalHeaderValue, escapeUri, escapeUriPath, longDateOf, SigningKey, UNSIGNED_PAYLOAD } from "../aws/sigv4.js";
import type { SignedPutHeader } from "./signed-put-headers.js";

/** S3 object keys are at most 1024 bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024;

const SERVICE = "s3";
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A path prefix on the endpoint (rare; e.g. behind a proxy): unreserved characters only. */
const ENDPOINT_PATH = /^(?:\/[A-Za-z0-9._~-]+)*\/?$/;
/** A header value the client can send as is: visible ASCII, spaces and tabs, no CR/LF. */
const HEADER_VALUE = /^[\t\x20-\x7e]+$/;
const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;
/** A whole "/"-separated segment that is "." or "..". */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

// ---------------------------------------------------------------------------------------------
// Input validation and the headers of a PUT, shared with SdkUrlSigner so both accept and refuse
// exactly the same inputs. These are programming errors (the domain validates user input
// before it reaches the signing port), so they throw plain TypeError/RangeError.
// ---------------------------------------------------------------------------------------------

/** Checks what both signers need; throws on inputs that cannot yield a usable URL. */
export function validatePresignInput(input: PresignPutInput | PresignGetInput): void {
  if (typeof input.bucket !== "string" || !BUCKET_NAME.test(input.bucket) || input.bucket.includes("..")) {
    throw new RangeError(`Invalid bucket name: ${JSON.stringify(input.bucket)}`);
  }
  validateKey(input.key);
  const expires = input.expiresInSeconds;
  if (!Number.isSafeInteger(expires) || expires < 1 || expires > MAX_PRESIGN_EXPIRES_SECONDS) {
    throw new RangeError(`expiresInSeconds must be an integer in 1..${MAX_PRESIGN_EXPIRES_SECONDS}, got ${expires}`);
  }
  if (input.signingDate !== undefined) {
    const time = input.signingDate instanceof Date ? input.signingDate.getTime() : Number.NaN;
    // Years 1970..9999 keep the ISO 8601 basic format (YYYYMMDDTHHMMSSZ) well defined.
    if (!(time >= 0 && time < 253402300800000)) {
      throw new RangeError("signingDate must be a valid Date between 1970 and 9999");
    }
  }
}

export function validatePutInput(input: PresignPutInput): void {
  validatePresignInput(input);
  if (typeof input.contentType !== "string" || !HEADER_VALUE.test(input.contentType) || input.contentType.trim() === "") {
    throw new RangeError(`Invalid contentType: ${JSON.stringify(input.contentType)}`);
  }
  if (!Number.isSafeInteger(input.contentLength) || input.contentLength < 0) {
    throw new RangeError(`contentLength must be a non-negative integer, got ${input.contentLength}`);
  }
  if (input.checksumSha256 !== undefined && !BASE64_SHA256.test(input.checksumSha256)) {
    throw new RangeError("checksumSha256 must be the base64 of a 32-byte SHA-256 digest");
  }
}

export function validateUploadPartInput(input: PresignUploadPartInput): void {
  validatePresignInput(input);
  if (!Number.isSafeInteger(input.partNumber) || input.partNumber < 1 || input.partNumber > MAX_PARTS) {
    throw new RangeError(`partNumber must be an integer in 1..${MAX_PARTS}, got ${input.partNumber}`);
  }
  if (!Number.isSafeInteger(input.contentLength) || input.contentLength < 0) {
    throw new RangeError(`contentLength must be a non-negative integer, got ${input.contentLength}`);
  }
  if (typeof input.storageUploadId !== "string" || input.storageUploadId === "" || !isWellFormed(input.storageUploadId)) {
    throw new RangeError("storageUploadId must be a non-empty, well-formed string");
  }
}

export function validateGetInput(input: PresignGetInput): void {
  validatePresignInput(input);
  for (const [name, value] of [
    ["responseContentType", input.responseContentType],
    ["responseContentDisposition", input.responseContentDisposition],
    ["responseCacheControl", input.responseCacheControl],
    ["responseContentEncoding", input.responseContentEncoding],
    ["responseContentLanguage", input.responseContentLanguage],
  ] as const) {
    if (value !== undefined && (typeof value !== "string" || value === "" || !isWellFormed(value))) {
      throw new RangeError(`${name} must be a non-empty, well-formed string`);
    }
  }
}

function validateKey(key: unknown): asserts key is string {
  if (typeof key !== "string" || key === "") throw new RangeError("Object key must be a non-empty string");
  if (!isWellFormed(key)) throw new RangeError("Object key contains a lone UTF-16 surrogate");
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) {
    throw new RangeError(`Object key is longer than ${MAX_KEY_BYTES} bytes of UTF-8`);
  }
  // A "." or ".." path segment is a legal S3 key, but every WHATWG URL parser (browsers, fetch)
  // removes dot segments before sending, so the signed path would never reach storage.
  if (DOT_SEGMENT.test(key)) {
    throw new RangeError(`Object key has a "." or ".." path segment, which URL clients rewrite: ${JSON.stringify(key)}`);
  }
}

/** True when the string has no lone surrogate (so it has a UTF-8 encoding). */
function isWellFormed(value: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value);
}

/**
 * Exactly the headers the client must send with the presigned PUT (lower-case names). Typed by
 * SIGNED_PUT_HEADERS, so a header signed here but missing from that list (and the CORS rule) does
 * not compile; the canonical strings below are hand-built for speed and checked against the list
 * by a test.
 */
export function putHeaders(input: PresignPutInput): Record<string, string> {
  const headers: { [Name in SignedPutHeader]?: string } = {
    "content-type": input.contentType,
    "content-length": String(input.contentLength),
  };
  if (input.ifNoneMatch) headers["if-none-match"] = "*";
  if (input.checksumSha256 !== undefined) headers["x-amz-checksum-sha256"] = input.checksumSha256;
  return headers as Record<string, string>;
}

/** The `X-Amz-SignedHeaders` value of a PUT (sorted, `;`-separated). */
export function putSignedHeaderNames(input: PresignPutInput): string {
  return `content-length;content-type;host${input.ifNoneMatch ? ";if-none-match" : ""}${input.checksumSha256 !== undefined ? ";x-amz-checksum-sha256" : ""}`;
}

// ---------------------------------------------------------------------------------------------

export class FastUrlSigner implements UrlSigner {
  /** `http://127.0.0.1:9000` or `https://<account>.r2.cloudflarestorage.com` (+ path prefix). */
  readonly #base: string;
  /** Canonical `host` header value: host name plus the port unless it is the scheme's default. */
  readonly #canonicalHostLine: string;
  /** Path prefix of the endpoint ("" or "/prefix"), present in both the URL and canonical URI. */
  readonly #pathPrefix: string;
  /** Derives and caches the signing key of the day (shared with the header signer of the lean clients). */
  readonly #signingKey: SigningKey;
  /** `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&X-Amz-Credential=<AK>%2F` */
  readonly #queryHead: string;
  /** `%2F<region>%2Fs3%2Faws4_request&X-Amz-Date=` */
  readonly #credentialTail: string;

  constructor(settings: S3ConnectionSettings) {
    const endpoint = parseEndpoint(settings.endpoint);
    if (!REGION_NAME.test(settings.region)) throw new RangeError(`Invalid region: ${JSON.stringify(settings.region)}`);
    if (!settings.accessKeyId || !settings.secretAccessKey) throw new TypeError("Missing S3 credentials");
    this.#pathPrefix = endpoint.pathPrefix;
    this.#base = `${endpoint.protocol}//${endpoint.host}${endpoint.pathPrefix}/`;
    this.#canonicalHostLine = `host:${canonicalHeaderValue(endpoint.host)}\n`;
    this.#signingKey = new SigningKey(settings.secretAccessKey, settings.region, SERVICE);
    this.#queryHead = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=${UNSIGNED_PAYLOAD}` + `&X-Amz-Credential=${escapeUri(settings.accessKeyId)}%2F`;
    this.#credentialTail = `%2F${escapeUri(settings.region)}%2F${SERVICE}%2Faws4_request&X-Amz-Date=`;
  }

  async presignPut(input: PresignPutInput): Promise<PresignedPut> {
    validatePutInput(input);
    const signedHeaders = putSignedHeaderNames(input);
    let canonicalHeaders = `content-length:${input.contentLength}\ncontent-type:${canonicalHeaderValue(input.contentType)}\n${this.#canonicalHostLine}`;
    if (input.ifNoneMatch) canonicalHeaders += "if-none-match:*\n";
    if (input.checksumSha256 !== undefined) canonicalHeaders += `x-amz-checksum-sha256:${input.checksumSha256}\n`;
    const url = this.#sign(
      "PUT",
      input,
      // "content-length;content-type;host…" escaped for the query: only ';' needs it.
      `&X-Amz-SignedHeaders=${signedHeaders.replace(/;/g, "%3B")}&x-id=PutObject`,
      canonicalHeaders,
      signedHeaders,
    );
    return { url, headers: putHeaders(input) };
  }

  async presignGet(input: PresignGetInput): Promise<string> {
    validateGetInput(input);
    let queryTail = "&X-Amz-SignedHeaders=host";
    if (input.responseCacheControl !== undefined) {
      queryTail += `&response-cache-control=${escapeUri(input.responseCacheControl)}`;
    }
    if (input.responseContentDisposition !== undefined) {
      queryTail += `&response-content-disposition=${escapeUri(input.responseContentDisposition)}`;
    }
    if (input.responseContentEncoding !== undefined) {
      queryTail += `&response-content-encoding=${escapeUri(input.responseContentEncoding)}`;
    }
    if (input.responseContentLanguage !== undefined) {
      queryTail += `&response-content-language=${escapeUri(input.responseContentLanguage)}`;
    }
    if (input.responseContentType !== undefined) {
      queryTail += `&response-content-type=${escapeUri(input.responseContentType)}`;
    }
    queryTail += "&x-id=GetObject";
    return this.#sign("GET", input, queryTail, this.#canonicalHostLine, "host");
  }

  async presignUploadPart(input: PresignUploadPartInput): Promise<PresignedPut> {
    validateUploadPartInput(input);
    const queryTail =
      `&X-Amz-SignedHeaders=content-length%3Bhost&partNumber=${input.partNumber}` + `&uploadId=${escapeUri(input.storageUploadId)}&x-id=UploadPart`;
    const canonicalHeaders = `content-length:${input.contentLength}\n${this.#canonicalHostLine}`;
    const url = this.#sign("PUT", input, queryTail, canonicalHeaders, "content-length;host");
    return { url, headers: { "content-length": String(input.contentLength) } };
  }

  /**
   * `queryTail` is everything that sorts after `X-Amz-Signature` (starting with `&`), already
   * encoded; the part before it is built here. Returns the full URL.
   */
  #sign(
    method: "GET" | "PUT",
    input: { bucket: string; key: string; expiresInSeconds: number; signingDate?: Date },
    queryTail: string,
    canonicalHeaders: string,
    signedHeaders: string,
  ): string {
    const longDate = longDateOf(input.signingDate ?? new Date());
    const shortDate = longDate.slice(0, 8);
    // Bucket names are validated to unreserved characters, so they need no escaping.
    const path = `${input.bucket}/${escapeUriPath(input.key)}`;
    const queryHead = `${this.#queryHead}${shortDate}${this.#credentialTail}${longDate}&X-Amz-Expires=${input.expiresInSeconds}`;
    const canonicalRequest =
      `${method}\n${this.#pathPrefix}/${path}\n${queryHead}${queryTail}\n` + `${canonicalHeaders}\n${signedHeaders}\n${UNSIGNED_PAYLOAD}`;
    const signature = this.#signingKey.sign(longDate, canonicalRequest);
    return `${this.#base}${path}?${queryHead}&X-Amz-Signature=${signature}${queryTail}`;
  }
}

export interface ParsedEndpoint {
  protocol: "http:" | "https:";
  /** Host name (lower-cased by the URL parser) plus `:port` unless it is the default port. */
  host: string;
  /** "" or a path like "/prefix" (no trailing slash). */
  pathPrefix: string;
}

/** Checks an S3 endpoint (scheme://host[:port][/path] only) and splits it. */
export function parseEndpoint(endpoint: string): ParsedEndpoint {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (cause) {
    throw new RangeError(`Invalid S3 endpoint: ${JSON.stringify(endpoint)}`, { cause });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RangeError(`S3 endpoint must be http(s): ${JSON.stringify(endpoint)}`);
  }
  if (url.username || url.password || url.search || url.hash || !ENDPOINT_PATH.test(url.pathname)) {
    throw new RangeError(`S3 endpoint must be scheme://host[:port][/path] only: ${JSON.stringify(endpoint)}`);
  }
  return {
    protocol: url.protocol,
    host: url.host,
    pathPrefix: url.pathname.replace(/\/$/, ""),
  };
}
