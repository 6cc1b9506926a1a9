/**
 * AWS Signature Version 4 on node:crypto only: the encoding, canonical forms and signing-key
 * derivation that the presigned URLs (`FastUrlSigner`) and the signed API requests
 * (`SigV4HeaderSigner`, used by the lean clients in `aws-http.ts`) share.
 *
 * Each piece reproduces what `@smithy/signature-v4` (under the AWS SDK) does: `FastUrlSigner` is
 * checked byte for byte against the SDK's presigner, and `SigV4HeaderSigner` against the SDK's
 * `SignatureV4.sign` on random requests (`sigv4.test.ts`), and both against a SigV4-checking S3
 * server.
 */
import { createHash, createHmac } from "node:crypto";

/** SHA-256 of nothing, the payload hash of a request without a body. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

const RFC3986_EXTRA = /[!'()*]/g;
const hexEncode = (c: string): string => `%${c.charCodeAt(0).toString(16).toUpperCase()}`;

/** Encodes everything except A-Z a-z 0-9 - . _ ~ (uppercase hex), as @smithy's escapeUri. */
export function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(RFC3986_EXTRA, hexEncode);
}

/**
 * Like escapeUri, but keeps `/` (S3 signs the object key's path as it is sent, no normalisation).
 * Every `%` in encodeURIComponent's output starts a `%XX` triple, so `%2F` matches only slashes.
 */
export function escapeUriPath(value: string): string {
  return escapeUri(value).replace(/%2F/g, "/");
}

/** SigV4 canonical header value: CR/LF to spaces, runs of spaces/tabs to one space, trimmed. */
export function canonicalHeaderValue(value: string): string {
  return value
    .replace(/[\r\n]/g, " ")
    .replace(/[ \t]+/g, " ")
    .replace(/^ | $/g, "");
}

/** `20240501T123456Z` from a Date (milliseconds dropped, like the SDK). */
export function longDateOf(date: Date): string {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

export const sha256Hex = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"), cached per UTC day. */
export class SigningKey {
  #shortDate = "";
  #key: Buffer = Buffer.alloc(0);

  constructor(
    private readonly secretAccessKey: string,
    readonly region: string,
    readonly service: string,
  ) {}

  /** The credential scope of a day: `<date>/<region>/<service>/aws4_request`. */
  scope(shortDate: string): string {
    return `${shortDate}/${this.region}/${this.service}/aws4_request`;
  }

  /** The hex signature of `canonicalRequest` made at `longDate`. */
  sign(longDate: string, canonicalRequest: string): string {
    const shortDate = longDate.slice(0, 8);
    const stringToSign = `AWS4-HMAC-SHA256\n${longDate}\n${this.scope(shortDate)}\n${sha256Hex(canonicalRequest)}`;
    return createHmac("sha256", this.#forDay(shortDate)).update(stringToSign, "utf8").digest("hex");
  }

  #forDay(shortDate: string): Buffer {
    if (shortDate !== this.#shortDate) {
      let key: Buffer = createHmac("sha256", `AWS4${this.secretAccessKey}`).update(shortDate).digest();
      for (const part of [this.region, this.service, "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
      this.#key = key;
      this.#shortDate = shortDate;
    }
    return this.#key;
  }
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials (a Lambda function's role) come with a session token. */
  sessionToken?: string;
}

/** A request as it will be sent, before signing. */
export interface SignableRequest {
  method: string;
  /** The URL's path as sent (already percent-encoded). */
  path: string;
  /** The query's names and values, not encoded (one value per name). */
  query?: Readonly<Record<string, string>>;
  /** Lower-case names; must include `host` (host name, and port unless it is the scheme's default). */
  headers: Readonly<Record<string, string>>;
  /** The body; its SHA-256 is the payload hash unless `x-amz-content-sha256` gives it. */
  body?: string | Uint8Array;
}

/** Headers SigV4 never signs (those a proxy or the HTTP stack may change), as the SDK skips them. */
const UNSIGNABLE = new Set([
  "authorization",
  "cache-control",
  "connection",
  "expect",
  "from",
  "keep-alive",
  "max-forwards",
  "pragma",
  "referer",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "user-agent",
  "x-amzn-trace-id",
]);

/**
 * Signs requests in the `Authorization` header, as the SDK's `SignatureV4.sign` does for its
 * clients: the payload hash goes into `x-amz-content-sha256` (signed), and S3 (`service: "s3"`)
 * signs the path as sent while every other service signs the normalised path encoded once more.
 */
export class SigV4HeaderSigner {
  readonly #key: SigningKey;
  readonly #credentials: AwsCredentials;
  readonly #s3: boolean;

  constructor(options: { credentials: AwsCredentials; region: string; service: string }) {
    if (!options.credentials.accessKeyId || !options.credentials.secretAccessKey) throw new TypeError("Missing AWS credentials");
    this.#credentials = options.credentials;
    this.#key = new SigningKey(options.credentials.secretAccessKey, options.region, options.service);
    this.#s3 = options.service === "s3";
  }

  /** The request's headers with `x-amz-date`, the session token, the payload hash and `authorization` added. */
  sign(request: SignableRequest, signingDate: Date = new Date()): Record<string, string> {
    const longDate = longDateOf(signingDate);
    const headers: Record<string, string> = { ...request.headers, "x-amz-date": longDate };
    if (this.#credentials.sessionToken) headers["x-amz-security-token"] = this.#credentials.sessionToken;
    const payloadHash = headers["x-amz-content-sha256"] ?? (request.body === undefined ? EMPTY_SHA256 : sha256Hex(request.body));
    headers["x-amz-content-sha256"] = payloadHash;
    const names = Object.keys(headers)
      .filter((name) => !UNSIGNABLE.has(name) && !name.startsWith("proxy-") && !name.startsWith("sec-"))
      .sort();
    const canonicalRequest = [
      request.method,
      this.#s3 ? request.path : canonicalPath(request.path),
      canonicalQuery(request.query ?? {}),
      ...names.map((name) => `${name}:${canonicalHeaderValue(headers[name]!)}`),
      "",
      names.join(";"),
      payloadHash,
    ].join("\n");
    const signature = this.#key.sign(longDate, canonicalRequest);
    headers.authorization =
      `AWS4-HMAC-SHA256 Credential=${this.#credentials.accessKeyId}/${this.#key.scope(longDate.slice(0, 8))}, ` +
      `SignedHeaders=${names.join(";")}, Signature=${signature}`;
    return headers;
  }
}

/** Names and values escaped, sorted by escaped name (`X-Amz-Signature` is never part of it). */
function canonicalQuery(query: Readonly<Record<string, string>>): string {
  return Object.keys(query)
    .filter((name) => name.toLowerCase() !== "x-amz-signature")
    .map((name) => [escapeUri(name), escapeUri(query[name]!)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

/** Outside S3: empty and "." segments dropped, ".." resolved, then every segment encoded again. */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const normalised = `${path.startsWith("/") ? "/" : ""}${segments.join("/")}${segments.length > 0 && path.endsWith("/") ? "/" : ""}`;
  return escapeUriPath(normalised);
}
